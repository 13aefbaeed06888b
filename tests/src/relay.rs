//! A UDP relay between nodes and the hub that sees every datagram and, with a seeded
//! generator, drops, duplicates, delays and so reorders them.

use std::net::SocketAddr;
use std::time::Duration;

/// What a [`Relay`] does to datagrams, decided by a seeded generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Seed of the generator.
    pub seed: u64,
    /// Share of datagrams dropped.
    pub drop: f64,
    /// Share sent twice.
    pub duplicate: f64,
    /// Share held back (up to `max_delay`), which reorders them.
    pub delay: f64,
    /// The longest hold.
    pub max_delay: Duration,
}

/// A UDP relay of its own between nodes and the hub: it copies every datagram it
/// forwards (both ways) and can drop, duplicate, delay and so reorder them.
pub struct Relay {
    /// Where nodes should send.
    pub address: SocketAddr,
    /// Every datagram seen, both ways.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Relay {
    /// Starts a relay to `hub`.
    pub fn start(hub: SocketAddr, faults: Faults) -> Relay {
        use std::sync::{Arc, Mutex};
        let front = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = front.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let back = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        back.connect(hub).unwrap();
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let rng = Arc::new(Mutex::new(faults.seed | 1));
        let chance = {
            let rng = Arc::clone(&rng);
            move || {
                let mut x = rng.lock().unwrap();
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                (*x % 1_000_000) as f64 / 1_000_000.0
            }
        };
        // Sends one datagram with the faults applied.
        let forward = {
            let chance = chance.clone();
            move |socket: std::net::UdpSocket, to: Option<SocketAddr>, bytes: Vec<u8>| {
                if chance() < faults.drop {
                    return;
                }
                let copies = if chance() < faults.duplicate { 2 } else { 1 };
                let hold = (chance() < faults.delay).then(|| faults.max_delay.mul_f64(chance()));
                let send = move || {
                    for _ in 0..copies {
                        let _ = match to {
                            Some(to) => socket.send_to(&bytes, to),
                            None => socket.send(&bytes),
                        };
                    }
                };
                match hold {
                    Some(hold) => {
                        std::thread::spawn(move || {
                            std::thread::sleep(hold);
                            send();
                        });
                    }
                    None => send(),
                }
            }
        };
        {
            let (front, back, client, seen, forward) = (
                front.try_clone().unwrap(),
                back.try_clone().unwrap(),
                Arc::clone(&client),
                Arc::clone(&seen),
                forward.clone(),
            );
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 65_536];
                loop {
                    let n = match back.recv(&mut buffer) {
                        Ok(n) => n,
                        // The hub is down (ICMP unreachable): keep relaying.
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    seen.lock().unwrap().push(buffer[..n].to_vec());
                    let to = *client.lock().unwrap();
                    if to.is_some() {
                        forward(front.try_clone().unwrap(), to, buffer[..n].to_vec());
                    }
                }
            });
        }
        {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 65_536];
                loop {
                    let Ok((n, from)) = front.recv_from(&mut buffer) else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    *client.lock().unwrap() = Some(from);
                    seen.lock().unwrap().push(buffer[..n].to_vec());
                    forward(back.try_clone().unwrap(), None, buffer[..n].to_vec());
                }
            });
        }
        Relay { address, seen }
    }
}

//! Reading a large CSV export on several threads.
//!
//! The calling thread splits the file into records (the only part that must run in
//! order) and deals batches round-robin to workers; each worker decodes, checks and
//! builds records and hands them to its own [`RecordSink`]. Rejections are put back
//! in file order at the end. Batches are recycled, so memory stays flat.

use std::cell::Cell;
use std::sync::mpsc;

use super::fields::RecordReader;
use super::rows::{CsvRows, RowView};
use super::{FileSummary, IngestError, RecordSink, Rejection, RowOutcome};

/// Records per batch handed to a worker.
const BATCH: usize = 1024;
/// Batches queued per worker before the reading thread waits.
const QUEUE: usize = 4;

/// Raw records read from the file, with how many of them are in use.
#[derive(Default)]
struct Batch {
    records: Vec<csv::ByteRecord>,
    len: usize,
}

/// What one worker found.
#[derive(Default)]
struct WorkerOutput {
    tally: RowOutcome,
    windows_1252: bool,
}

/// Reads the rest of `csv` with one worker per sink.
pub(super) fn read_csv<S: RecordSink>(
    csv: &mut CsvRows,
    reader: &RecordReader,
    headers: &[String],
    sinks: &mut [S],
    summary: &mut FileSummary,
) -> Result<(), IngestError> {
    let outputs = std::thread::scope(|scope| {
        let (recycle_tx, recycle_rx) = mpsc::channel::<Batch>();
        let mut queues = Vec::new();
        let mut workers = Vec::new();
        for sink in sinks.iter_mut() {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUE);
            let recycle = recycle_tx.clone();
            workers.push(scope.spawn(move || work(rx, recycle, reader, headers, sink)));
            queues.push(tx);
        }
        drop(recycle_tx);
        let mut next = 0;
        let mut more = true;
        while more {
            let mut batch = recycle_rx.try_recv().unwrap_or_default();
            batch.len = 0;
            while batch.len < BATCH {
                if batch.records.len() == batch.len {
                    batch.records.push(csv::ByteRecord::new());
                }
                match csv.read_into(&mut batch.records[batch.len]) {
                    None => {
                        more = false;
                        break;
                    }
                    Some(Err(e)) => {
                        csv.set_error(e);
                        more = false;
                        break;
                    }
                    Some(Ok(())) => {}
                }
                summary.rows += 1;
                match csv.shape(&batch.records[batch.len]) {
                    (line, Some(error)) => summary.rejections.push(Rejection {
                        line,
                        column: None,
                        error,
                    }),
                    (_, None) => batch.len += 1,
                }
            }
            if batch.len > 0 && queues[next].send(batch).is_err() {
                break;
            }
            next = (next + 1) % queues.len();
        }
        drop(queues);
        workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
    });
    for output in outputs {
        let output = output.map_err(|_| IngestError::Io {
            path: summary.path.clone(),
            source: std::io::Error::other("a reading thread failed"),
        })?;
        summary.accepted += output.tally.accepted;
        summary.rejections.extend(output.tally.rejections);
        if output.windows_1252 {
            csv.note_windows_1252();
        }
    }
    summary.rejections.sort_by_key(|r| r.line);
    Ok(())
}

fn work<S: RecordSink>(
    batches: mpsc::Receiver<Batch>,
    recycle: mpsc::Sender<Batch>,
    reader: &RecordReader,
    headers: &[String],
    sink: &mut S,
) -> WorkerOutput {
    let windows_1252 = Cell::new(false);
    let mut tally = RowOutcome::default();
    for batch in batches {
        for record in &batch.records[..batch.len] {
            let line = record.position().map_or(0, |p| p.line());
            let view = RowView::csv(record, &windows_1252);
            tally.add(line, reader.record(&view), headers, sink);
        }
        // The reading thread may be gone already; then the batch is simply dropped.
        let _ = recycle.send(batch);
    }
    WorkerOutput {
        tally,
        windows_1252: windows_1252.get(),
    }
}

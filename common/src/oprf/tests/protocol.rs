//! Messages, rate limit decisions and the custodian log.

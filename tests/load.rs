//! Load runs end to end (written next).

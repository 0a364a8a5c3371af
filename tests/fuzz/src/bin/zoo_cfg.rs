//! zoo.cfg as ZooKeeper reads it, and the four-letter-word replies.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = zkrun::zk::config::parse(text);
            let _ = zkrun::zk::fourlw::parse_srvr(text);
            let _ = zkrun::zk::fourlw::parse_mntr(text);
        }
    });
}

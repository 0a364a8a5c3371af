//! ZooKeeper's client protocol, as far as `verify`'s read needs it: open a
//! session, list one znode's children, close the session — the bytes of one
//! exchange, and what the server's answer means.
//!
//! The format is ZooKeeper's jute serialization (big-endian; a buffer or
//! string is an int length then its bytes; every packet is preceded by its
//! int length), with the request types and error codes of
//! `org.apache.zookeeper.ZooDefs.OpCode` and `KeeperException.Code`
//! (ZooKeeper 3.4–3.9 alike). The three requests go out at once: the
//! server reads the connect request first and takes the others once the
//! session exists, answering in order, and closes the connection after
//! `closeSession`. A server that does not serve (no quorum, still syncing)
//! closes the connection without a session.
//!
//! Why not `zkCli.sh ls`: it starts a JVM on the host, 0.5 s of each node's
//! time out of service and of the look before a run; this exchange takes
//! one round trip.

/// `getChildren`, `closeSession`.
const GET_CHILDREN: i32 = 8;
const CLOSE_SESSION: i32 = -11;
/// The session timeout asked for, ms: the server bounds it by its own
/// minimum; the session is closed at once anyway.
const SESSION_TIMEOUT_MS: i32 = 4000;

/// The bytes of a session, a `getChildren(path)` and its close.
pub fn read_request(path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    // ConnectRequest: protocol version, last zxid seen, timeout, session
    // id (0: a new one), password (16 zero bytes), read-only (false).
    packet(&mut out, |p| {
        p.extend(0i32.to_be_bytes());
        p.extend(0i64.to_be_bytes());
        p.extend(SESSION_TIMEOUT_MS.to_be_bytes());
        p.extend(0i64.to_be_bytes());
        p.extend(16i32.to_be_bytes());
        p.extend([0u8; 16]);
        p.push(0);
    });
    // RequestHeader (xid 1, getChildren), then the path and no watch.
    packet(&mut out, |p| {
        p.extend(1i32.to_be_bytes());
        p.extend(GET_CHILDREN.to_be_bytes());
        p.extend((path.len() as i32).to_be_bytes());
        p.extend(path.as_bytes());
        p.push(0);
    });
    packet(&mut out, |p| {
        p.extend(2i32.to_be_bytes());
        p.extend(CLOSE_SESSION.to_be_bytes());
    });
    out
}

fn packet(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let mut p = Vec::new();
    body(&mut p);
    out.extend((p.len() as i32).to_be_bytes());
    out.extend(p);
}

/// What the server said to `read_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub session: u64,
    /// The zxid the read was answered at.
    pub zxid: u64,
    pub children: usize,
}

/// Reads the server's answer to `read_request(path)`; the error says, in
/// the operator's terms, why it is not a successful read.
pub fn parse_read(reply: &[u8], path: &str) -> Result<Read, String> {
    let mut r = Reader {
        bytes: reply,
        at: 0,
    };
    let Some(connect) = r.packet() else {
        return Err(if reply.is_empty() {
            "the node closed the connection without a session (it does not serve clients now)"
                .into()
        } else {
            format!("a {}-byte answer that is no ZooKeeper session", reply.len())
        });
    };
    let mut c = Reader {
        bytes: connect,
        at: 0,
    };
    let (_version, timeout, session) = (c.i32(), c.i32(), c.i64());
    let (Some(timeout), Some(session)) = (timeout, session) else {
        return Err("a truncated session answer".into());
    };
    if timeout <= 0 || session == 0 {
        return Err("the node refused the session".into());
    }
    let Some(answer) = r.packet() else {
        return Err(format!(
            "session 0x{session:x} opened, but no answer to the read of {path}"
        ));
    };
    let mut a = Reader {
        bytes: answer,
        at: 0,
    };
    let (xid, zxid, err) = (a.i32(), a.i64(), a.i32());
    let (Some(1), Some(zxid), Some(err)) = (xid, zxid, err) else {
        return Err(format!(
            "an answer to the read of {path} that does not parse"
        ));
    };
    if err != 0 {
        return Err(format!("reading {path} failed: {}", error_name(err)));
    }
    let Some(children) = a.i32().filter(|n| *n >= 0) else {
        return Err(format!(
            "an answer to the read of {path} without its children"
        ));
    };
    Ok(Read {
        session: session as u64,
        zxid: zxid as u64,
        children: children as usize,
    })
}

/// `KeeperException.Code` names for the codes a read can meet.
fn error_name(code: i32) -> String {
    let name = match code {
        -101 => "no node (NONODE)",
        -102 => "not authenticated (NOAUTH)",
        -4 => "connection loss (CONNECTIONLOSS)",
        -7 => "operation timeout (OPERATIONTIMEOUT)",
        -112 => "session expired (SESSIONEXPIRED)",
        -118 => "session moved (SESSIONMOVED)",
        -119 => "not read-only (NOTREADONLY)",
        -115 => "authentication failed (AUTHFAILED)",
        -124 => {
            "the server requires SASL authentication (SESSIONCLOSEDREQUIRESASLAUTH), \
             which zkrun's read does not do: drop `verify: read:` on such an ensemble"
        }
        _ => return format!("error code {code}"),
    };
    name.into()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
    /// One length-prefixed packet.
    fn packet(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.i32()?).ok()?;
        self.take(n)
    }
}

/// The bytes as bash's `printf` format: every byte octal-escaped, so the
/// request crosses a command line (no NUL, no `%`).
pub fn printf_escaped(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:03o}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's answer: session 0x100, getChildren at zxid 0x200000005
    /// with two children, and the close.
    fn answer(err: i32) -> Vec<u8> {
        let mut out = Vec::new();
        packet(&mut out, |p| {
            p.extend(0i32.to_be_bytes());
            p.extend(4000i32.to_be_bytes());
            p.extend(0x100i64.to_be_bytes());
            p.extend(16i32.to_be_bytes());
            p.extend([7u8; 16]);
            p.push(0);
        });
        packet(&mut out, |p| {
            p.extend(1i32.to_be_bytes());
            p.extend(0x2_0000_0005i64.to_be_bytes());
            p.extend(err.to_be_bytes());
            if err == 0 {
                p.extend(2i32.to_be_bytes());
                for c in ["zookeeper", "app"] {
                    p.extend((c.len() as i32).to_be_bytes());
                    p.extend(c.as_bytes());
                }
            }
        });
        packet(&mut out, |p| {
            p.extend(2i32.to_be_bytes());
            p.extend(0x2_0000_0006i64.to_be_bytes());
            p.extend(0i32.to_be_bytes());
        });
        out
    }

    #[test]
    fn the_request_is_three_length_prefixed_packets() {
        let r = read_request("/");
        // connect (45 bytes), getChildren of "/" (14), closeSession (8).
        assert_eq!(r.len(), 4 + 45 + 4 + 14 + 4 + 8);
        assert_eq!(&r[..4], &45i32.to_be_bytes());
        assert_eq!(&r[49..53], &14i32.to_be_bytes());
        assert_eq!(&r[57..61], &GET_CHILDREN.to_be_bytes());
        assert_eq!(&r[r.len() - 4..], &CLOSE_SESSION.to_be_bytes());
        let e = printf_escaped(&r[..4]);
        assert_eq!(e, r"\000\000\000\055");
    }

    #[test]
    fn an_answer_reads_as_a_session_and_a_read() {
        assert_eq!(
            parse_read(&answer(0), "/"),
            Ok(Read {
                session: 0x100,
                zxid: 0x2_0000_0005,
                children: 2
            })
        );
        assert_eq!(
            parse_read(&answer(-101), "/app").unwrap_err(),
            "reading /app failed: no node (NONODE)"
        );
        let e = parse_read(b"", "/").unwrap_err();
        assert!(e.contains("without a session"), "{e}");
        let whole = answer(0);
        for cut in [3, 20, 40, 60, 70] {
            assert!(parse_read(&whole[..cut], "/").is_err(), "cut at {cut}");
        }
        let e = parse_read(
            b"This ZooKeeper instance is not currently serving requests\n",
            "/",
        )
        .unwrap_err();
        assert!(e.contains("no ZooKeeper session"), "{e}");
    }
}

//! The stdio transport: [`serve`] pumps lines between a synchronous reader/writer pair (which
//! need not be `Send`: the CLI passes locked stdin/stdout) and the rmcp service running on a
//! scoped thread with a current-thread tokio runtime.
//!
//! The pump (caller's thread) reads a line, checks it, and forwards a well-formed message over
//! a channel to [`LineTransport::receive`]; for a request it then writes whatever the service
//! sends ([`LineTransport::send`]: progress notifications, then the response) until the
//! response with the request's id is out, and only then reads on. Everything the SDK would drop
//! or answer without an id is answered here (see the module doc of [`super`]).

use std::io::{BufRead, Read, Write};
use std::sync::mpsc;

use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientRequest, InitializeRequestParams,
    JsonRpcMessage, ReadResourceRequestParams, ServerJsonRpcMessage,
};
use rmcp::service::ServiceExt;
use rmcp::transport::Transport;
use serde_json::{Value, json};

use super::server::EffectsServer;
use super::{INVALID_PARAMS, INVALID_REQUEST, MAX_MESSAGE_BYTES, PARSE_ERROR};

/// One line from the service, and the id of the request it answers, if it is a response.
struct Outgoing {
    line: String,
    answers: Option<Value>,
    success: bool,
}

/// The service's end of the bridge.
struct LineTransport {
    incoming: tokio::sync::mpsc::UnboundedReceiver<ClientJsonRpcMessage>,
    outgoing: mpsc::Sender<Outgoing>,
}

fn encode(message: &ServerJsonRpcMessage) -> std::io::Result<Outgoing> {
    let line = serde_json::to_string(message)?;
    let (answers, success) = match message {
        JsonRpcMessage::Response(r) => (Some(serde_json::to_value(&r.id)?), true),
        JsonRpcMessage::Error(e) => (e.id.as_ref().map(serde_json::to_value).transpose()?, false),
        _ => (None, false),
    };
    Ok(Outgoing {
        line,
        answers,
        success,
    })
}

impl Transport<RoleServer> for LineTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let sent = encode(&item).and_then(|out| {
            self.outgoing.send(out).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the output has closed")
            })
        });
        std::future::ready(sent)
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.incoming.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        Ok(())
    }
}

/// Runs the service until its input channel closes (the caller's input ended).
fn run_service(transport: LineTransport) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime");
    runtime.block_on(async move {
        // An initialisation that fails (input closed before `initialize`) ends the session;
        // the pump sees the channel close and stops.
        if let Ok(running) = EffectsServer::new().serve(transport).await {
            let _ = running.waiting().await;
        }
    });
}

/// Serves MCP over `input`/`output` until `input` ends, then returns once every response is
/// written. Only I/O errors on the streams end it early; every malformed line is answered (or
/// ignored, for notifications) and serving goes on.
pub fn serve<R: BufRead, W: Write>(input: R, output: W) -> std::io::Result<()> {
    let (to_service, incoming) = tokio::sync::mpsc::unbounded_channel();
    let (outgoing, from_service) = mpsc::channel();
    let transport = LineTransport { incoming, outgoing };
    std::thread::scope(|scope| {
        let service = std::thread::Builder::new()
            .name("mcp-service".into())
            .spawn_scoped(scope, move || run_service(transport))?;
        let mut pump = Pump {
            output,
            to_service: Some(to_service),
            from_service,
            started: false,
        };
        let pumped = pump.run(input);
        // Closing the channel ends the service; what it still sends is written (or dropped,
        // after an output error).
        pump.to_service = None;
        let drained = if pumped.is_ok() { pump.drain() } else { Ok(()) };
        if service.join().is_err() {
            return Err(std::io::Error::other("the MCP service thread panicked"));
        }
        pumped.and(drained)
    })
}

/// What to do with one input line.
enum Action {
    /// Answer it here (the SDK cannot).
    Reply(Value),
    /// Nothing to do.
    Ignore,
    /// Hand it to the service; for a request, the id to wait for and whether a successful
    /// answer starts the session.
    Forward(Box<ClientJsonRpcMessage>, Option<(Value, bool)>),
}

/// The caller's side of the bridge.
struct Pump<W: Write> {
    output: W,
    to_service: Option<tokio::sync::mpsc::UnboundedSender<ClientJsonRpcMessage>>,
    from_service: mpsc::Receiver<Outgoing>,
    /// A request has been answered successfully (initialize, or a request carrying its own
    /// protocol metadata): notifications are forwarded from now on.
    started: bool,
}

impl<W: Write> Pump<W> {
    fn write(&mut self, line: &str) -> std::io::Result<()> {
        self.output.write_all(line.as_bytes())?;
        self.output.write_all(b"\n")?;
        self.output.flush()
    }

    fn run<R: BufRead>(&mut self, mut input: R) -> std::io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let limit = MAX_MESSAGE_BYTES as u64 + 1;
            if (&mut input).take(limit).read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let action = if line.len() > MAX_MESSAGE_BYTES && !line.ends_with(b"\n") {
                skip_rest_of_line(&mut input)?;
                Action::Reply(error(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("message longer than {MAX_MESSAGE_BYTES} bytes"),
                ))
            } else {
                classify(&line, self.started)
            };
            match action {
                Action::Reply(reply) => self.write(&reply.to_string())?,
                Action::Ignore => {}
                Action::Forward(message, awaited) => {
                    let Some(to_service) = &self.to_service else {
                        return Ok(());
                    };
                    if to_service.send(*message).is_err() {
                        return Ok(()); // the service has ended: nobody to serve
                    }
                    match awaited {
                        Some((id, opens)) => {
                            if !self.await_response(&id, opens)? {
                                return Ok(());
                            }
                        }
                        None => self.flush_pending()?,
                    }
                }
            }
        }
    }

    /// Writes what the service sends until the response to `id`; false if the service ended
    /// first.
    fn await_response(&mut self, id: &Value, opens: bool) -> std::io::Result<bool> {
        while let Ok(out) = self.from_service.recv() {
            self.write(&out.line)?;
            if out.answers.as_ref() == Some(id) {
                self.started |= opens && out.success;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Writes what the service has already sent, without waiting.
    fn flush_pending(&mut self) -> std::io::Result<()> {
        while let Ok(out) = self.from_service.try_recv() {
            self.write(&out.line)?;
        }
        Ok(())
    }

    /// Writes everything until the service ends.
    fn drain(&mut self) -> std::io::Result<()> {
        while let Ok(out) = self.from_service.recv() {
            self.write(&out.line)?;
        }
        Ok(())
    }
}

fn skip_rest_of_line<R: BufRead>(input: &mut R) -> std::io::Result<()> {
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let n = input
            .take(MAX_MESSAGE_BYTES as u64)
            .read_until(b'\n', &mut chunk)?;
        if n == 0 || chunk.ends_with(b"\n") {
            return Ok(());
        }
    }
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64(),
        _ => false,
    }
}

/// Decides what to do with one line (see [`Action`]); `started` says whether the session has
/// started (before it, notifications and responses are dropped: the SDK would end the
/// session on them).
fn classify(line: &[u8], started: bool) -> Action {
    let Ok(text) = std::str::from_utf8(line) else {
        return Action::Reply(error(
            Value::Null,
            PARSE_ERROR,
            "message is not valid UTF-8",
        ));
    };
    let text = text.trim().trim_start_matches('\u{feff}');
    if text.is_empty() {
        return Action::Ignore;
    }
    match serde_json::from_str::<ClientJsonRpcMessage>(text) {
        // The SDK reads a standard method whose params do not fit as a custom request, which
        // it answers "method not found": it is invalid params.
        Ok(JsonRpcMessage::Request(request)) if matches!(&request.request, ClientRequest::CustomRequest(c) if STANDARD_REQUESTS.contains(&c.method.as_str())) =>
        {
            let ClientRequest::CustomRequest(custom) = &request.request else {
                unreachable!("matched above")
            };
            let id = serde_json::to_value(&request.id).unwrap_or(Value::Null);
            Action::Reply(error(
                id,
                INVALID_PARAMS,
                &params_problem(&custom.method, custom.params.as_ref()),
            ))
        }
        Ok(JsonRpcMessage::Request(request)) => {
            let opens = !matches!(
                request.request,
                ClientRequest::PingRequest(_) | ClientRequest::DiscoverRequest(_)
            );
            match serde_json::to_value(&request.id) {
                Ok(id) => Action::Forward(
                    Box::new(JsonRpcMessage::Request(request)),
                    Some((id, opens)),
                ),
                Err(_) => Action::Reply(error(Value::Null, INVALID_REQUEST, "unusable id")),
            }
        }
        Ok(other) if started => Action::Forward(Box::new(other), None),
        Ok(_) => Action::Ignore,
        Err(typed) => match serde_json::from_str::<Value>(text) {
            Err(e) => Action::Reply(error(
                Value::Null,
                PARSE_ERROR,
                &format!("parse error: {e}"),
            )),
            Ok(value) => malformed(value, &typed),
        },
    }
}

/// The requests a client may send that the SDK reads into typed params (MCP 2025-11-25 and
/// 2026-07-28).
const STANDARD_REQUESTS: [&str; 15] = [
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "subscriptions/listen",
];

/// Why `params` do not fit `method`, in the words of the SDK's own types where we use them.
fn params_problem(method: &str, params: Option<&Value>) -> String {
    fn check<T: serde::de::DeserializeOwned>(params: Option<&Value>) -> Option<String> {
        let params = params.cloned().unwrap_or(Value::Null);
        serde_json::from_value::<T>(params)
            .err()
            .map(|e| e.to_string())
    }
    let detail = match method {
        "initialize" => check::<InitializeRequestParams>(params),
        "tools/call" => check::<CallToolRequestParams>(params),
        "resources/read" => check::<ReadResourceRequestParams>(params),
        _ => None,
    };
    let detail = detail.unwrap_or_else(|| "they do not fit the method".into());
    format!("invalid params for {method}: {detail}")
}

/// The answer to JSON that is not a message the SDK accepts.
fn malformed(value: Value, why: &serde_json::Error) -> Action {
    let invalid = |id: Value, message: &str| Action::Reply(error(id, INVALID_REQUEST, message));
    let Value::Object(message) = value else {
        return match value {
            Value::Array(_) => invalid(
                Value::Null,
                "batches are not supported (MCP removed JSON-RPC batching in 2025-06-18)",
            ),
            _ => invalid(Value::Null, "a message must be a JSON object"),
        };
    };
    let id = message.get("id");
    let Some(method) = message.get("method") else {
        // A response we cannot read, or garbage without an id: answer only what could be a
        // request.
        return match id {
            Some(_) if message.contains_key("result") || message.contains_key("error") => {
                Action::Ignore
            }
            Some(id) if valid_id(id) => invalid(id.clone(), "request without a method"),
            Some(_) => invalid(Value::Null, "request without a method"),
            None => Action::Ignore,
        };
    };
    // Notifications are never answered.
    let Some(id) = id else {
        return Action::Ignore;
    };
    if !valid_id(id) {
        return invalid(Value::Null, "the id must be a string or an integer");
    }
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id.clone(), "\"jsonrpc\" must be \"2.0\"");
    }
    let Some(method) = method.as_str() else {
        return invalid(id.clone(), "the method must be a string");
    };
    Action::Reply(error(
        id.clone(),
        INVALID_PARAMS,
        &format!(
            "invalid params for {}: {why}",
            genlab_core::limits::excerpt(&method.escape_debug().to_string())
        ),
    ))
}

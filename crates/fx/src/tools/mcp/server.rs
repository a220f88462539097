//! [`EffectsServer`], the rmcp `ServerHandler`: server info, the tools of [`super::catalog`] run
//! by [`super::files`] on a blocking thread while the handler relays their phases as progress
//! notifications, and the documentation pages of [`super::resources`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, Peer, RoleServer, ServerHandler};
use serde_json::{Value, json};

use super::HEARTBEAT;
use super::catalog::tools;
use super::files::run_tool;
use super::resources::{INDEX_URI, MIME, resource_text, resource_uris};
use crate::engine::spec::effect;
use crate::error::FxResult;
use genlab_core::limits::excerpt;

/// The first revision with `structuredContent` in tool results.
const STRUCTURED_CONTENT_SINCE: &str = "2025-06-18";

const INSTRUCTIONS: &str = "Audio effects on WAV files. Call `list_effects` for the parameter \
    ranges (or read the genlab-fx://effects resources); process a file with one effect tool \
    (e.g. `reverb`) or with `apply_chain`, whose `chain` is an ordered list of {\"name\", \
    \"arguments\"} tool calls; `estimate_chain` finds the chain that turns a dry file into a \
    processed one. Paths are local files ending in .wav (relative paths are relative to the \
    server's working directory). Out-of-range values are clamped by default and every change is \
    listed in the returned report.";

/// The effects as an MCP server: stateless apart from the tool list, built once.
#[derive(Debug, Clone)]
pub struct EffectsServer {
    tools: Arc<Vec<Tool>>,
}

impl Default for EffectsServer {
    fn default() -> Self {
        Self::new()
    }
}

impl EffectsServer {
    /// The server with every tool of [`super::tools`].
    pub fn new() -> Self {
        let tools = tools()
            .into_iter()
            .map(|t| serde_json::from_value(t).expect("the catalog's tools are MCP tools"))
            .collect();
        EffectsServer {
            tools: Arc::new(tools),
        }
    }

    fn has_tool(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.name == name)
    }
}

fn capabilities() -> ServerCapabilities {
    serde_json::from_value(json!({
        "tools": {"listChanged": false},
        "resources": {"listChanged": false, "subscribe": false},
    }))
    .expect("static capabilities")
}

/// Relays a tool's phases as `notifications/progress` with strictly increasing `progress`
/// (seconds since the call started).
struct Reporter {
    token: ProgressToken,
    peer: Peer<RoleServer>,
    started: Instant,
    last: f64,
}

impl Reporter {
    async fn send(&mut self, message: String) {
        let elapsed = (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        self.last = elapsed.max(self.last + 0.001);
        let param =
            ProgressNotificationParam::new(self.token.clone(), self.last).with_message(message);
        // A client that has gone away gets no progress; the call itself still finishes.
        let _ = self.peer.notify_progress(param).await;
    }
}

/// Runs tool `name` on a blocking thread; with a progress token, every phase it reports (and a
/// heartbeat during long phases) goes to the client as it happens.
async fn run_with_progress(
    name: String,
    arguments: serde_json::Map<String, Value>,
    reporter: Option<Reporter>,
) -> Result<FxResult<Value>, String> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let tool = name.clone();
    let job = tokio::task::spawn_blocking(move || {
        let mut phase = |message: String| {
            let _ = tx.send(message);
        };
        // The engine is not expected to panic, but a server that dies takes the client's whole
        // session with it: a panic becomes a tool error instead.
        catch_unwind(AssertUnwindSafe(|| run_tool(&tool, arguments, &mut phase)))
    });
    if let Some(mut reporter) = reporter {
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
        let mut current = String::from("starting");
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => {
                        current.clone_from(&message);
                        heartbeat.reset();
                        reporter.send(message).await;
                    }
                    None => break,
                },
                _ = heartbeat.tick() => {
                    let elapsed = reporter.started.elapsed().as_secs_f64();
                    reporter.send(format!("{current} ({elapsed:.1} s elapsed)")).await;
                }
            }
        }
        let outcome = job.await;
        let seconds = reporter.started.elapsed().as_secs_f64();
        let summary = match &outcome {
            Ok(Ok(Ok(_))) => format!("done in {seconds:.2} s"),
            _ => format!("failed after {seconds:.2} s"),
        };
        reporter.send(summary).await;
        flatten(&name, outcome)
    } else {
        drop(rx);
        flatten(&name, job.await)
    }
}

type Joined = Result<std::thread::Result<FxResult<Value>>, tokio::task::JoinError>;

fn flatten(name: &str, outcome: Joined) -> Result<FxResult<Value>, String> {
    match outcome {
        Ok(Ok(result)) => Ok(result),
        _ => Err(format!("internal error while running `{name}`")),
    }
}

/// The tool result: the value as pretty JSON text (and as `structuredContent` when the
/// negotiated revision has it), or the error message with `isError`.
fn tool_result(outcome: Result<Value, String>, structured: bool) -> CallToolResult {
    match outcome {
        Ok(value) => {
            let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            if structured {
                result.structured_content = Some(value);
            }
            result
        }
        Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
    }
}

impl ServerHandler for EffectsServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(capabilities())
            .with_server_info(
                Implementation::new("genlab-fx", env!("CARGO_PKG_VERSION"))
                    .with_title("genlab audio effects"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        if request.and_then(|r| r.cursor).is_some() {
            return Err(ErrorData::invalid_params(
                "invalid cursor: the tool list has a single page",
                None,
            ));
        }
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        // An unknown tool is a protocol error (MCP `server/tools`, "Error Handling"); an
        // unknown effect inside a chain is the model's mistake to read and fix.
        if !self.has_tool(&name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "Unknown tool: {} (see tools/list)",
                    excerpt(&name.escape_debug().to_string())
                ),
                None,
            ));
        }
        let structured = context
            .protocol_version()
            .is_none_or(|v| v.as_str() >= STRUCTURED_CONTENT_SINCE);
        let reporter = context.meta.get_progress_token().map(|token| Reporter {
            token,
            peer: context.peer.clone(),
            started: Instant::now(),
            last: 0.0,
        });
        let arguments = request.arguments.unwrap_or_default();
        let outcome = match run_with_progress(name, arguments, reporter).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(internal) => Err(internal),
        };
        Ok(tool_result(outcome, structured).into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = resource_uris()
            .into_iter()
            .map(|uri| {
                let (name, title, description) = match uri.rsplit_once('/') {
                    Some((_, name)) if uri != INDEX_URI => {
                        let description = effect(name).map_or("", |e| e.description);
                        (
                            name.to_string(),
                            format!("Effect: {name}"),
                            format!(
                                "Parameters and a default tool call of `{name}`. {description}"
                            ),
                        )
                    }
                    _ => (
                        "effects".to_string(),
                        "Effects reference".to_string(),
                        "Every effect with a one-line description and a link to its page."
                            .to_string(),
                    ),
                };
                let size = resource_text(&uri).map_or(0, |t| t.len() as u64);
                Resource::new(uri, name)
                    .with_title(title)
                    .with_description(description)
                    .with_mime_type(MIME)
                    .with_size(size)
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        match resource_text(&uri) {
            Some(text) => {
                let contents = ResourceContents::text(text, uri).with_mime_type(MIME);
                Ok(ReadResourceResult::new(vec![contents]).into())
            }
            None => Err(ErrorData::resource_not_found(
                format!(
                    "no resource {uri:?} (see resources/list: {INDEX_URI} and {INDEX_URI}/<effect>)"
                ),
                None,
            )),
        }
    }
}

// Drives FlowMaster's MCP server with the official MCP TypeScript SDK client over
// Streamable HTTP, or over stdio through `flowmaster mcp`: lists tools, creates and publishes a process, starts it, finds its
// user task in the inbox, completes it, sees the instance completed, reads the process
// as a resource; over HTTP it subscribes to the process and gets the update when it is
// published; both ways a wait_for_execution reports progress. Usage: node flow.mjs <mcp url> <bearer token> <bpmn xml file> [flowmaster binary]
// (with the binary: stdio, `flowmaster mcp --url <mcp url>` with the token in FLOWMASTER_MCP_TOKEN)
// Prints one JSON line {ok, ...}; exit 1 on any failure (used by tests/http/test_mcp_sdk.py).
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CallToolResultSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, token, xmlFile, bin] = process.argv.slice(2);
const transport = bin
  ? new StdioClientTransport({ command: bin, args: ["mcp", "--url", url],
                               env: { ...process.env, FLOWMASTER_MCP_TOKEN: token }, stderr: "ignore" })
  : new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
const client = new Client({ name: "flowmaster-sdk-test", version: "1.0.0" });

function must(cond, what) {
  if (!cond) throw new Error(what);
}

async function tool(name, args) {
  const res = await client.callTool({ name, arguments: args });
  must(!res.isError, `${name} failed: ${JSON.stringify(res.content)}`);
  return res.structuredContent;
}

try {
  await client.connect(transport);
  const version = bin ? client.getServerVersion() && "stdio" : transport.protocolVersion;
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ["create_process", "publish_process", "start_execution", "list_tasks", "respond_task"])
    must(names.includes(n), `tool ${n} missing from ${names}`);
  const proc = await tool("create_process", { name: "sdk-flow", xml: readFileSync(xmlFile, "utf8") });
  // over HTTP: subscribe to the process, and the publish arrives on the SDK's GET stream
  const updates = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
  const uri = `flowmaster://processes/${proc.id}`;
  if (!bin) await client.subscribeResource({ uri });
  await tool("publish_process", { processId: proc.id });
  for (let i = 0; !bin && i < 200 && !updates.includes(uri); i++) await new Promise((r) => setTimeout(r, 25));
  must(bin || updates.includes(uri), `no notifications/resources/updated for ${uri}: ${updates}`);
  const exe = await tool("start_execution", { processId: proc.id, variables: { amount: 42 } });
  // progress: the SDK sends a progress token with onprogress; the server streams SSE
  const progress = [];
  const waited = await client.callTool({ name: "wait_for_execution", arguments: { executionId: exe.id, timeoutSeconds: 1 } },
                                       CallToolResultSchema, { onprogress: (p) => progress.push(p) });
  must(waited.isError === true && progress.length >= 1, `wait_for_execution: ${JSON.stringify(waited)} progress ${progress.length}`);
  const inbox = await tool("list_tasks", { status: "created", limit: 100 });
  const task = inbox.items.find((t) => t.processInstanceId === exe.id);
  must(task, `no task of ${exe.id} in the inbox`);
  await tool("claim_task", { taskId: task.id });
  await tool("respond_task", { taskId: task.id, response: { approved: true } });
  let state = "";
  for (let i = 0; i < 200 && state !== "completed"; i++) {     // the engine moves on asynchronously
    state = (await tool("get_execution", { executionId: exe.id })).state;
    if (state !== "completed") await new Promise((r) => setTimeout(r, 25));
  }
  must(state === "completed", `instance state ${state}`);
  const bad = await client.callTool({ name: "get_process", arguments: { processId: "proc_nope" } });
  must(bad.isError === true, "a 404 route answer is not an isError result");
  const res = await client.readResource({ uri: `flowmaster://processes/${proc.id}` });
  must(res.contents[0].text.includes("sdk_flow"), "resource text is not the BPMN");
  if (!bin) await transport.terminateSession();
  await client.close();
  console.log(JSON.stringify({ ok: true, version, tools: names.length, state, execution: exe.id, updates: updates.length,
                               progress: progress.length }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e), cause: String(e && e.cause && (e.cause.stack || e.cause)) }));
  process.exit(1);
}

/**
 * `imspec/mock`: a mock server for every API of the bundled specs, driven by the specs, for your
 * own tests and for `imspec mock` on the command line. Each API is served under `/<name>`.
 *
 * Needs the optional peer dependencies ajv, ajv-formats and openapi-backend (loaded when a server
 * starts; without them `startMockServer` rejects with the command that installs them).
 *
 * @example
 * const mock = await startMockServer();
 * const dt = createDingTalk({ baseUrl: mock.urls.dingtalk, appKey: "demo", appSecret: "demo" });
 * await dt.contact.listSeniorSettings({ seniorStaffId: "x" }); // the spec's example
 * mock.script("dingtalk", "listSeniorSettings", { error: "Forbidden.AccessDenied.QpsLimitForApi" });
 * await mock.stop();
 */

/** The envelope status of a request that breaks the spec, for every API whose spec names no other (`x-imspec-mock.invalid`). */
export { INVALID_REQUEST_CODE } from "./dialect.js";
export type { MockApi, OpenApiDocument } from "./documents.js";
export {
  type ApiName,
  type MockAnswer,
  type MockRequest,
  MockServer,
  type MockServerOptions,
  startMockServer,
} from "./server.js";
export type { TokenKind } from "./tokens.js";

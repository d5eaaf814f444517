/**
 * `imspec/mock`: a mock server for the DingTalk and WorkPlus APIs, driven by the specs, for your
 * own tests and for `imspec mock` on the command line.
 *
 * @example
 * const mock = await startMockServer();
 * const dt = createDingTalk({ baseUrl: mock.urls.dingtalk, appKey: "demo", appSecret: "demo" });
 * await dt.contact.listSeniorSettings({ seniorStaffId: "x" }); // the spec's example
 * mock.script("dingtalk", "listSeniorSettings", { error: "Forbidden.AccessDenied.QpsLimitForApi" });
 * await mock.stop();
 */
export { WORKPLUS_INVALID_REQUEST_STATUS } from "./dialects.js";
export { MOCK_APIS, type MockApi, type OpenApiDocument } from "./documents.js";
export {
  type MockAnswer,
  type MockRequest,
  MockServer,
  type MockServerOptions,
  startMockServer,
} from "./server.js";
export type { TokenKind } from "./tokens.js";

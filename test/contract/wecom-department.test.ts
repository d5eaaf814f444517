/** Contract of every WeCom `department` operation against the mock. */
import { type MockServer, startMockServer } from "imspec/mock";
import { createWeCom, type WeCom } from "imspec/wecom";
import { afterAll, beforeAll, describe } from "vitest";
import { contract } from "./support.js";

let mock: MockServer;
let wc: WeCom;
const current = () => mock;

beforeAll(async () => {
  mock = await startMockServer();
  wc = createWeCom({
    rateLimit: false,
    baseUrl: mock.urls.wecom,
    corpId: "ww-contract",
    corpSecret: "s-contract",
  });
});
afterAll(() => mock?.stop());

describe("department.listDepartmentIds", () => {
  contract(current, "wecom", "listDepartmentIds", (o) => wc.department.listDepartmentIds({ id: 1 }, o));
});

describe("department.getDepartment", () => {
  contract(current, "wecom", "getDepartment", (o) => wc.department.getDepartment({ id: 2 }, o));
});

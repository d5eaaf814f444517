/**
 * `imspec/node`: what only Node.js can run. `createNodeFetch()` is a `fetch` over node:http with a
 * keep-alive pool, for servers that call an API often; pass it as the `fetch` option of
 * `createDingTalk` or `createWorkPlus`. Kept out of `imspec/dingtalk` and `imspec/workplus` so
 * that those stay free of Node built-ins and bundle for the browser.
 */
export {
  createNodeFetch,
  type FetchFunction,
  type NodeFetch,
  type NodeFetchOptions,
} from "../core/node-fetch.js";

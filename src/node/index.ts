/**
 * `imspec/node`: the node:http keep-alive transport, for a pool of your own (its size, its idle
 * time) or to close it on shutdown. The clients already use one by default on Node.
 */
export { type NodeTransport, type NodeTransportOptions, nodeTransport } from "../core/node-transport.js";

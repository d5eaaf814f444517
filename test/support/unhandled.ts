/** Collects the process's unhandled rejections from the call until `stop()`. */
export function collectUnhandledRejections(): { reasons: unknown[]; stop: () => void } {
  const reasons: unknown[] = [];
  const onUnhandled = (reason: unknown) => reasons.push(reason);
  process.on("unhandledRejection", onUnhandled);
  return { reasons, stop: () => process.off("unhandledRejection", onUnhandled) };
}

/**
 * Keeps a page built by `redocly build-docs --inlineBundle` from reaching any host but the one
 * serving it. With the bundle inlined, two things still went out (seen in Chromium):
 *
 * - Redoc 3 always renders an "API docs by Redocly" badge whose <img> loads its logo from
 *   cdn.redoc.ly (no option turns it off; Redocly/redoc#2108). The template hides the badge, but an
 *   <img> fetches its src even when hidden, so the URLs are replaced by an inline empty image here.
 * - Redoc sends usage telemetry unless the CLI ran with REDOCLY_TELEMETRY=off (redoc.ts sets it);
 *   `assertOffline` checks the page was built that way.
 */

/** The badge logo URLs in Redoc 3's bundle (full and collapsed sidebar). */
const BADGE_LOGOS = [
  "https://cdn.redoc.ly/redoc/logo-mini-full.svg",
  "https://cdn.redoc.ly/redoc/logo-mini.svg",
];

/** A valid, empty SVG: the <img> loads without a request and without an error in the console. */
const EMPTY_IMAGE = "data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E";

export function removeBadgeLogo(html: string): string {
  return BADGE_LOGOS.reduce((text, url) => text.split(url).join(EMPTY_IMAGE), html);
}

/** Markup that makes a browser fetch from another host (or any script file at all). */
const EXTERNAL_RESOURCES: Array<[string, RegExp]> = [
  ["a script file", /<script\b[^>]*\ssrc\s*=/i],
  ["an external <link>", /<link\b[^>]*\shref\s*=\s*["']?(?:https?:)?\/\//i],
  [
    "an external media element",
    /<(?:img|iframe|source|video|audio|embed|object)\b[^>]*\s(?:src|data)\s*=\s*["']?(?:https?:)?\/\//i,
  ],
  ["an external CSS url()", /url\(\s*["']?(?:https?:)?\/\//i],
  ["a CSS @import", /@import\b/i],
];

/**
 * Throws when the page would load anything from elsewhere: resources in its markup and styles
 * (inlined scripts are left to the browser test, which records every request), the badge logo,
 * or telemetry that was not turned off.
 */
export function assertOffline(html: string, name: string): void {
  const markup = html.replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/gi, "$1</script>");
  const problems = EXTERNAL_RESOURCES.filter(([, pattern]) => pattern.test(markup)).map(([what]) => what);
  if (BADGE_LOGOS.some((url) => html.includes(url))) problems.push("the Redocly badge logo");
  const options = /const __redoc_options = (\{.*\});/.exec(html)?.[1];
  if (options !== undefined && !options.includes('"disableTelemetry":true')) problems.push("telemetry");
  if (problems.length > 0) {
    throw new Error(`${name} would load from another host: ${problems.join(", ")}`);
  }
}

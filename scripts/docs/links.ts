/**
 * Makes every link Redoc prerenders a hash link, so that a link copied from the page, opened in a
 * new tab, reloaded or shared loads the page at that place on any static host, offline.
 *
 * `redocly build-docs` prerenders the page without a router, so the sidebar's top entries (the
 * overview and one entry per tag) come out as root paths: `href="/"`, `href="/contact"`. In the
 * browser Redoc 3 hydrates the page inside a hash router: a left click on those links is handled by
 * the router (the address bar then reads `<api>.html#/contact`), and every link Redoc renders
 * itself is `#/…`. Hydration keeps the prerendered attributes, though, so the copied link stayed
 * `/contact`: another file, which no static host has. Rewritten here to the `#/contact` the
 * browser would render, the prerendered markup and the hydrated page agree.
 */

/** Where `redocly build-docs` puts the prerendered markup: `<div id="redoc">…</div><script type="module">`. */
const MARKUP_START = '<div id="redoc">';
const MARKUP_END = '<script type="module">';

/** An `<a>` whose href is a root path (`/x`, not the protocol-relative `//host`). */
const ROOT_PATH_LINK = /(<a\b[^>]*?\shref=")\/(?!\/)/gi;

/** The prerendered markup of a page built by `redocly build-docs`; throws when the page has none. */
function markupBounds(html: string, name: string): { start: number; end: number } {
  const start = html.indexOf(MARKUP_START);
  const end = start < 0 ? -1 : html.indexOf(MARKUP_END, start);
  if (start < 0 || end < 0) {
    throw new Error(`${name}: no prerendered Redoc markup (${MARKUP_START} … ${MARKUP_END}) to fix links in`);
  }
  return { start, end };
}

/** Rewrites root-path links in the prerendered markup to the hash links Redoc's router reads. */
export function hashLinks(html: string, name: string): string {
  const { start, end } = markupBounds(html, name);
  const markup = html.slice(start, end).replace(ROOT_PATH_LINK, "$1#/");
  return html.slice(0, start) + markup + html.slice(end);
}

/** /api/docs runs no inline script and loads nothing from elsewhere (the renderer's images are inline SVG data URLs). */
export const DOCS_CSP = "default-src 'self'; img-src 'self' data:";

// Bundle src/ into ONE minified ES module (Lit included) served by the integration.
// Deterministic: the same sources and lock file give the same bytes (CI checks it).
import { build } from "esbuild";

await build({
  entryPoints: ["src/double-take-panel.ts"],
  outfile: "../custom_components/double_take/frontend/double-take-panel.js",
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2021",
  charset: "utf8",
  legalComments: "eof",
  sourcemap: false,
  logLevel: "warning",
});

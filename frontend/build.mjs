// Builds the portal's static assets into src/shanyraq/static/dist/.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "src", "shanyraq", "static", "dist");
mkdirSync(out, { recursive: true });

const result = sass.compile(join(root, "frontend", "main.scss"), {
  loadPaths: [join(root, "node_modules")],
  style: "compressed",
  quietDeps: true,
});
writeFileSync(join(out, "shanyraq.css"), result.css);

const copies = [
  ["govuk-frontend/dist/govuk/govuk-frontend.min.js", "govuk-frontend.min.js"],
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
];
for (const [from, to] of copies) {
  copyFileSync(join(root, "node_modules", from), join(out, to));
}
console.log(`assets written to ${out}`);

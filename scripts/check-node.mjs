// Fails early, with a clear message, when a script runs on a Node older than the project's 24.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `Node ${process.versions.node} found; this project needs Node 24. Run it through npm (npm test, npm start), which uses the Node 24 installed in node_modules by 'npm ci'.`,
  );
  process.exit(1);
}

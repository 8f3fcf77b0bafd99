// The worker tag every kdevflow flow and script carries, so that only the workers
// prepared for it (Nix, the Workbench mounts, a user service manager: docs/deploy.md)
// take its jobs. On a server a flow's own `tag` decides where the flow job runs, and its
// steps and sub-flows inherit it (backend windmill-worker/src/worker_flow.rs,
// resolve_flow_step_tag); a script's `tag` routes it when it runs on its own, and routes
// the dependency job the server runs when the script is deployed
// (windmill-api-scripts/src/scripts.rs). scripts/flow-forms.ts writes it into every
// flow.yaml, scripts/script-schema.ts into every .script.yaml; the conformance test checks
// both. A deployment that wants another tag changes it here and regenerates.

export const WORKER_TAG = "kdevflow";

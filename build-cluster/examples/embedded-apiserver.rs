//! Run the embedded API server until Ctrl-C, writing its kubeconfig to the path given as the
//! first argument (default `./kubeconfig`). Handy for poking at it with kubectl and helm.

use sealer_build_cluster::apiserver::{ApiServer, ServerConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "kubeconfig".into());
    let server = ApiServer::start(ServerConfig::default()).await?;
    server.write_kubeconfig(std::path::Path::new(&path))?;
    eprintln!(
        "serving {} (started in {:?}); kubeconfig: {path}",
        server.url(),
        server.started_in()
    );
    tokio::signal::ctrl_c().await?;
    for obj in server.snapshot() {
        eprintln!(
            "{} {}/{}",
            obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]
        );
    }
    server.stop().await;
    Ok(())
}

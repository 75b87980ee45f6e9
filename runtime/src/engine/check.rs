//! The check phase: the host answers, runs the image's architecture and has the commands we use.

use crate::clusterfile::ResolvedHost;
use crate::options::RuntimeOptions;
use crate::ssh::{ExecRequest, Host, ShellQuote, SshError, run_checked};
use sealer_image_cache::sealer_meta::{Platform, normalize_arch};

pub(crate) async fn check_host(
    opts: &RuntimeOptions,
    platform: &Platform,
    _h: &ResolvedHost,
    c: &dyn Host,
) -> Result<String, SshError> {
    let mut script = String::from("uname -m\n");
    for cmd in &opts.required_commands {
        script.push_str(&format!(
            "command -v {q} >/dev/null 2>&1 || echo missing:{q}\n",
            q = cmd.sq()
        ));
    }
    let req = ExecRequest::new(script).timeout(std::time::Duration::from_secs(60));
    let out = run_checked(c, req, "check the host").await?;
    let text = out.stdout_text();
    let mut lines = text.lines();
    let machine = lines.next().unwrap_or("").trim().to_string();
    let missing: Vec<&str> = lines.filter_map(|l| l.strip_prefix("missing:")).collect();
    if !missing.is_empty() {
        return Err(SshError::Other {
            host: c.name().to_string(),
            message: format!(
                "required commands are missing: {} (install them on the host)",
                missing.join(", ")
            ),
        });
    }
    let arch = normalize_arch(&machine);
    if !platform.architecture.is_empty() && arch != platform.architecture {
        return Err(SshError::Other {
            host: c.name().to_string(),
            message: format!(
                "the host is {machine} ({arch}) but the image is for {platform}: use an image built for {arch}"
            ),
        });
    }
    Ok(format!("arch {arch}"))
}

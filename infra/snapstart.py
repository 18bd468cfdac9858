"""Where Lambda SnapStart is offered, and the one-line refusal of `snapStart=true` elsewhere.

AWS's SnapStart page ("Supported Regions") lists it in every commercial region except these two; a stack
deployed there with SnapStart on would fail when CloudFormation publishes the function's version. Free of
the CDK libraries (whose import starts Node.js), so the deploy preflight can ask before the CDK CLI runs.
"""

from __future__ import annotations

from infra.settings import context_key, env_var

# Region code -> name, as AWS's page names the regions it excludes.
UNSUPPORTED_REGIONS = {
    "ap-southeast-6": "Asia Pacific (New Zealand)",
    "ap-east-2": "Asia Pacific (Taipei)",
}


def snap_start_region_error(region: str) -> str | None:
    """Why SnapStart cannot be turned on in `region` (one line naming the setting), or None where it can.

    Args:
        region: an AWS region code, e.g. eu-west-1.
    """
    name = UNSUPPORTED_REGIONS.get(region)
    if name is None:
        return None
    setting = f"setting {context_key('snap_start')} ({env_var('snap_start')})"
    return (
        f"{setting} must be false in {region}: Lambda SnapStart is not offered in {name}; "
        "deploy without it, or to another region (AWS_REGION)"
    )

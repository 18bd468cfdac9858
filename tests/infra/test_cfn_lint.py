"""cfn-lint (pinned in requirements/dev.txt) accepts the synthesized templates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra_synth import Synthesized

# W3005 (a DependsOn already implied by a GetAtt) is how CDK makes every Lambda function wait for its
# role's inline policy; it is redundant, not wrong, and it is not ours to rewrite.
IGNORED = "W3005"


def test_templates_pass_cfn_lint(
    default_stack: Synthesized,
    options_stack: Synthesized,
    mixed_stack: Synthesized,
    regional_stack: Synthesized,
) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    variants = (default_stack, options_stack, mixed_stack, regional_stack)
    templates = [str(s.outdir / f"{s.stack_name}.template.json") for s in variants]
    done = subprocess.run(
        [str(cfn_lint), "--ignore-checks", IGNORED, "--", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr

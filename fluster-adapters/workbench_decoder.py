# vp9-workbench decoder for Fluster: drive a board through `workbench decode`.
# SPDX-License-Identifier: GPL-2.0-only
"""Fluster decoder that decodes on a board through the vp9-workbench.

Fluster imports every module of its ``fluster/decoders/`` package; this
module registers one VP9 decoder that runs

    workbench decode --board BOARD --decoder DECODER --mode pixels \
        --timeout MS --json INPUT

and returns the whole-output MD5 the workbench computed over the frames the
board produced (planar, visible size, 16-bit LE above 8 bits: the same bytes
as Fluster's VP9 ``result``).

Environment:
  WORKBENCH_BOARD    board name from boards.toml (default: vboard)
  WORKBENCH_CMD      how to start the workbench (default: workbench; e.g.
                     "node /path/to/vp9-workbench/harness/bin/workbench.js")
  WORKBENCH_DECODER  workbench decoder (default: gst-v4l2sl-vp9;
                     libvpx-vp9 decodes on the host, for checking the chain)
  WORKBENCH_SETUP_S  seconds allowed on top of Fluster's timeout for board
                     start-up and references (default: 300)
"""

import json
import os
import shlex
import shutil
import subprocess
import tempfile
from typing import Any, Dict, List, Optional

from fluster.codec import Codec, OutputFormat
from fluster.decoder import Decoder, register_decoder


def _settings() -> Dict[str, str]:
    return {
        "board": os.environ.get("WORKBENCH_BOARD", "vboard"),
        "cmd": os.environ.get("WORKBENCH_CMD", "workbench"),
        "decoder": os.environ.get("WORKBENCH_DECODER", "gst-v4l2sl-vp9"),
        "setup": os.environ.get("WORKBENCH_SETUP_S", "300"),
    }


def _last_record(stdout: str) -> Optional[Dict[str, Any]]:
    """The last stdout line that is a JSON object with a verdict (one per vector)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "verdict" in obj:
            return obj
    return None


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class WorkbenchDecodeError(Exception):
    """`workbench decode` could not give an MD5 (Fluster records Error)."""


@register_decoder
class WorkbenchVP9Decoder(Decoder):
    """VP9 on a board (V4L2 stateless) through `workbench decode`."""

    name = "Workbench-VP9-V4L2SL"
    description = "VP9 on a board through vp9-workbench (board from $WORKBENCH_BOARD, default vboard)"
    codec = Codec.VP9
    hw_acceleration = True

    def command(self, input_filepath: str, timeout: int, raw_dir: Optional[str]) -> List[str]:
        """argv of the workbench run for one vector."""
        s = _settings()
        argv = shlex.split(s["cmd"]) + [
            "decode",
            "--board", s["board"],
            "--decoder", s["decoder"],
            "--mode", "pixels",
            "--timeout", str(int(timeout) * 1000),
            "--json",
        ]
        if raw_dir:
            argv += ["--keep-raw", raw_dir]
        return argv + ["--", input_filepath]

    def check(self, verbose: bool) -> bool:  # type: ignore[override]
        exe = shlex.split(_settings()["cmd"])[:1]
        found = bool(exe) and shutil.which(exe[0]) is not None
        if verbose and not found:
            print(f"{self.name}: cannot find {exe[0] if exe else '(empty WORKBENCH_CMD)'}; set WORKBENCH_CMD")
        return found

    def decode(
        self,
        input_filepath: str,
        output_filepath: str,
        output_format: OutputFormat,
        timeout: int,
        verbose: bool,
        keep_files: bool,
        optional_params: Optional[Dict[str, Any]] = None,
    ) -> str:
        """Decodes on the board; returns the MD5 of all output frames.

        Fluster 0.8 (Debian) passes a seventh argument, the vector's
        optional_params (unused here); older Fluster passes six.

        Raises subprocess.TimeoutExpired when the workbench reports a timeout
        (Fluster: Timeout) and WorkbenchDecodeError when no MD5 could be
        produced (not supported, error, crash, infrastructure: Fluster: Error).
        A wrong picture is not an exception: the MD5 is returned and Fluster
        compares it (Fail).
        """
        # The workbench writes the board's frames as planar at the stream's own
        # bit depth: yuv420p, yuv420p10le, yuv444p... as Fluster's VP9 results.
        del output_format, optional_params
        raw_dir = tempfile.mkdtemp(prefix="workbench-fluster-") if keep_files else None
        try:
            argv = self.command(input_filepath, timeout, raw_dir)
            if verbose:
                print(" ".join(shlex.quote(a) for a in argv))
            limit = int(timeout) + int(_settings()["setup"])
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=limit, check=False)
            if verbose and proc.stderr:
                print(proc.stderr)
            rec = _last_record(proc.stdout)
            if rec is None:
                raise WorkbenchDecodeError(
                    f"workbench decode exited with {proc.returncode} without a result: {_tail(proc.stderr)}"
                )
            verdict = rec.get("verdict") or {}
            result = verdict.get("result", "?")
            message = verdict.get("message") or ""
            if result == "timeout":
                raise subprocess.TimeoutExpired(argv, timeout, output=proc.stdout, stderr=proc.stderr)
            actual = (rec.get("md5") or {}).get("actual")
            if result in ("pass", "fail") and actual:
                if raw_dir:
                    raw = os.path.join(raw_dir, os.path.basename(input_filepath) + ".yuv")
                    if os.path.isfile(raw):
                        shutil.move(raw, output_filepath)
                return str(actual).lower()
            raise WorkbenchDecodeError(f"workbench verdict {result}: {message}".rstrip(": "))
        finally:
            if raw_dir:
                shutil.rmtree(raw_dir, ignore_errors=True)

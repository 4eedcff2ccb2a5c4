# Reads a subunit v2 stream on stdin (stestr's results of a tempest run) and prints one JSON object a
# line: {"id", "status", "seconds", "details"}; details is the traceback or skip reason text.
import json
import sys

import subunit
import testtools


def main():
    stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
    tests = []
    result = testtools.StreamToDict(tests.append)
    result.startTestRun()
    stream.run(result)
    result.stopTestRun()
    for t in tests:
        details = []
        for name, content in t["details"].items():
            if name in ("traceback", "reason") or "traceback" in name:
                try:
                    details.append(content.as_text())
                except Exception:  # an attachment that is not text
                    pass
        start, stop = t["timestamps"]
        seconds = (stop - start).total_seconds() if start and stop else 0
        print(json.dumps({"id": t["id"], "status": t["status"], "seconds": seconds, "details": "\n".join(details)}))


main()

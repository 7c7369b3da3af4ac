#!/usr/bin/env python3
"""Prints the crashing thread's frames from the .NET runtime's crash reports (DOTNET_EnableCrashReport=1 writes
<dump>.crashreport.json beside the dump): native frames as module!symbol+offset, managed ones as Class.Method, so
a segmentation fault inside LibTorch names the library and function without a debugger on the machine."""
import json, shutil, subprocess, sys

def demangle(names):
    tool = shutil.which("c++filt")
    if not tool or not names:
        return names
    out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return out if len(out) == len(names) else names

for path in sys.argv[1:]:
    payload = json.load(open(path))["payload"]
    print(f"== {path}: {payload.get('process_name', '?')}")
    for thread in payload.get("threads", []):
        if str(thread.get("crashed")).lower() != "true":
            continue
        frames = thread.get("stack_frames", [])
        symbols = demangle([f.get("unmanaged_name", "") for f in frames])
        for frame, symbol in zip(frames, symbols):
            if str(frame.get("is_managed")).lower() == "true":
                name = ".".join(x for x in (frame.get("class_name"), frame.get("method_name")) if x) or f"token {frame.get('token')}"
                print(f"  managed  {frame.get('filename', '')} {name} +{frame.get('il_offset')}")
            else:
                print(f"  native   {frame.get('native_module', '?')}!{symbol or '?'} @{frame.get('native_image_offset')}")

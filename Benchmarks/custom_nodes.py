"""What a custom node costs per image: the same load → node → save workflow over Examples/, with
the node as an `exec` command (cp), as the example C plugin (box blur, radius 0), or absent.

Runs the release CLI, interleaving the variants round by round so they share machine conditions.
    swift build -c release && python3 Benchmarks/custom_nodes.py [--rounds 5]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from interleaved import summaries, timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORKFLOW = """version: 1
params:
  input: {{type: dir}}
  output: {{type: dir}}
plugins: [box_blur]
nodes:
  photo: {{node: load, each: $input, pattern: "*.{{jpg,png}}"}}
{node}  out:   {{node: save, image: {source}, dir: $output}}
"""
VARIANTS = {
    "load+save": ("", "$photo.image"),
    "exec cp": ('  via:   {node: exec, image: $photo.image, command: [cp, "{input}", "{output}"]}\n', "$via.image"),
    "plugin box_blur": ("  via:   {node: examples.box_blur, image: $photo.image, radius: 0}\n", "$via.image"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    binary = os.path.join(ROOT, ".build/release/deltaflow")
    work = tempfile.mkdtemp(prefix="deltaflow-custom-nodes-")
    plugins = os.path.join(work, "plugins")
    os.makedirs(plugins)
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-I",
                    os.path.join(ROOT, "Sources/CDeltaflowPlugin/include"),
                    os.path.join(ROOT, "Plugins/box-blur/box_blur.c"), "-o", os.path.join(plugins, "libbox_blur.so")],
                   check=True)
    runs = {}
    for name, (node, source) in VARIANTS.items():
        path = os.path.join(work, name.replace(" ", "_") + ".yaml")
        with open(path, "w") as f:
            f.write(WORKFLOW.format(node=node, source=source))
        output = os.path.join(work, "out")

        def run(path=path, output=output):
            shutil.rmtree(output, ignore_errors=True)
            subprocess.run([binary, "run", path, "--plugins", plugins, "--set", f"input={ROOT}/Examples",
                            "--set", f"output={output}", "--no-cache", "-q", "--jobs", str(args.jobs)],
                           check=True, capture_output=True)
        runs[name] = run
    for run in runs.values():
        run()  # warm the page cache and the plugin's first load once, not every round
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name] += timed(run, 1, warmup=False)
    images = len([f for f in os.listdir(os.path.join(ROOT, "Examples")) if f.endswith((".png", ".jpg"))])
    for stat, values in summaries(times).items():
        base = values["load+save"]
        print(f"{stat}: " + ", ".join(
            f"{name} {ms:.0f} ms" + ("" if name == "load+save" else f" (+{(ms - base) / images:.1f} ms/image)")
            for name, ms in values.items()))
    shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())

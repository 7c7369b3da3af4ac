using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;

namespace Ckpt.Extension.Tests;

/// <summary>
/// Notebook 02 run by a person's route: scripts/notebook.sh serves the checkout, Debian's Chromium (driven by
/// playwright-core, tests/browser/run-notebook.mjs) opens the notebook from the tree, runs Cell > Run All, and every
/// chart must draw its Plotly SVG with no cell error. Screenshots land in artifacts/browser/02-shard-layout.
/// </summary>
[Trait("Category", "slow")]
public sealed class NotebookInBrowserTests
{
    const string Folder = "notebooks";
    const string Notebook = "02-shard-layout.ipynb";

    static string Repo => TestPaths.RepoRoot;

    /// <summary>What the machine lacks (scripts/test.sh installs all of it), or null.</summary>
    internal static string? Missing()
    {
        var needs = new (string Path, string What)[]
        {
            ("/usr/bin/jupyter-notebook", "Debian's jupyter-notebook"),
            ("/usr/bin/chromium", "Debian's chromium"),
            (Path.Combine(Repo, "tests", "browser", "node_modules", "playwright-core", "package.json"), "playwright-core (npm ci --prefix tests/browser)"),
            (Path.Combine(Repo, ".jupyter", "kernels", ".net-csharp", "kernel.json"), "the .NET kernelspec"),
        };
        var missing = needs.Where(n => !File.Exists(n.Path)).Select(n => $"{n.What} ({Path.GetFileName(n.Path)})").ToList();
        if (FindOnPath("node") is null) missing.Add("node");
        return missing.Count == 0 ? null : "missing " + string.Join(", ", missing) + ": run scripts/test.sh, which installs it";
    }

    static string? FindOnPath(string name) => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    [BrowserFact]
    public void Notebook_02_runs_from_the_classic_notebook_ui_with_every_chart_drawn()
    {
        var missing = Missing();
        Assert.True(missing is null, missing);
        LocalFeed.Prepare();
        var notebookFile = Path.Combine(Repo, Folder, Notebook);
        var original = File.ReadAllBytes(notebookFile);
        var shots = Path.Combine(Repo, "artifacts", "browser", Path.GetFileNameWithoutExtension(Notebook));
        if (Directory.Exists(shots)) Directory.Delete(shots, recursive: true);

        // The kernel the browser starts probes for an HTTP port as nbconvert's kernels do: take turns with them.
        lock (JupyterRun.Turn)
        {
            var port = FreePort();
            var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
            using var server = StartServer(port, token, out var serverLog);
            try
            {
                var (code, output) = Node(Path.Combine(Repo, "tests", "browser", "run-notebook.mjs"),
                    $"http://127.0.0.1:{port}/tree?token={token}", Folder, Notebook, shots);
                var findings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{')) ?? "{}";
                using var doc = JsonDocument.Parse(findings);
                var root = doc.RootElement;
                Assert.True(code == 0, $"the browser run failed (exit {code}): {output}\nserver: {Tail(serverLog.ToString())}");
                Assert.Equal(root.GetProperty("charts").GetInt32(), root.GetProperty("drawn").GetInt32());
                Assert.True(root.GetProperty("charts").GetInt32() >= 9, findings);
                Assert.Equal(0, root.GetProperty("errors").GetArrayLength());
                Assert.True(File.Exists(Path.Combine(shots, "ran.png")));
                Assert.True(File.Exists(Path.Combine(shots, "chart-01.png")));
            }
            finally
            {
                server.Kill(entireProcessTree: true);
                server.WaitForExit();
                File.WriteAllBytes(notebookFile, original);
            }
        }
    }

    static Process StartServer(int port, string token, out System.Text.StringBuilder log)
    {
        var psi = new ProcessStartInfo("/bin/bash") { WorkingDirectory = Repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "scripts/notebook.sh", "--port", port.ToString(), "--no-pack" }) psi.ArgumentList.Add(a);
        psi.Environment["JUPYTER_TOKEN"] = token;
        var server = Process.Start(psi)!;
        var lines = log = new System.Text.StringBuilder();
        var ready = new ManualResetEventSlim();
        void Read(string? line)
        {
            if (line is null) return;
            lock (lines) lines.AppendLine(line);
            if (line.Contains($"http://127.0.0.1:{port}/?token=", StringComparison.Ordinal)) ready.Set(); // the server's own line, not the script's
        }
        server.OutputDataReceived += (_, e) => Read(e.Data);
        server.ErrorDataReceived += (_, e) => Read(e.Data);
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        if (!ready.Wait(TimeSpan.FromMinutes(3)) || server.HasExited)
        {
            server.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"scripts/notebook.sh did not start the server:\n{Tail(lines.ToString())}");
        }
        return server;
    }

    internal static (int Code, string Output) Node(params string[] args)
    {
        var psi = new ProcessStartInfo(FindOnPath("node")!) { WorkingDirectory = Repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("the browser run did not finish in 15 minutes");
        }
        return (p.ExitCode, output.Result + err.Result);
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static string Tail(string s) => s.Length <= 3000 ? s : s[^3000..];
}

/// <summary>A test that needs the browser stack: outside CI a machine without it skips; under CI the test runs and fails on what is missing.</summary>
sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute() => Skip = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) ? NotebookInBrowserTests.Missing() : null;
}

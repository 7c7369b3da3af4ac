using System.Diagnostics;

namespace Ckpt.Tests;

/// <summary>
/// A python3 with jinja2 (Debian's python3-jinja2), the reference the chat-template interpreter is compared to.
/// Lighter than <see cref="PythonTorch"/>: it imports jinja2 only.
/// </summary>
public static class PythonJinja
{
    static readonly Lazy<string?> _interpreter = new(Find);

    public static string? Interpreter => _interpreter.Value;

    static string? Find()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                if (Run(candidate, ["-c", "import jinja2.sandbox"]).Item1 == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }

    /// <summary>Runs a script under tests/python with arguments; returns exit code, stdout, stderr.</summary>
    public static (int Code, string Stdout, string Stderr) RunScript(string script, params string[] args) =>
        Run(Interpreter ?? throw new InvalidOperationException("no python3 with jinja2 (Debian: apt-get install python3-jinja2)"),
            [Path.Combine(TestPaths.RepoRoot, "tests", "python", script), .. args]);

    static (int, string, string) Run(string python, string[] args)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PYTHONIOENCODING"] = "utf-8";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException("python did not finish"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A theory that needs python3 with jinja2; skipped with that reason where there is none, failed under CI.</summary>
public sealed class PythonJinjaTheoryAttribute() : RequiredTheoryAttribute(
    PythonJinja.Interpreter is null ? "needs python3 with jinja2 (Debian: apt-get install python3-jinja2)" : null);

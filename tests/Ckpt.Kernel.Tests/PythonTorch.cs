using System.Diagnostics;

namespace Ckpt.Tests;

/// <summary>
/// A Python interpreter with PyTorch (Debian's python3-torch 1.13 on the build machine), used to prove that what
/// the writers produce is what real torch reads. Tests marked <see cref="PythonTorchFactAttribute"/> are skipped,
/// saying why, only where no python3 with torch exists, and fail so under CI.
/// </summary>
public static class PythonTorch
{
    static readonly Lazy<string?> _interpreter = new(Find);

    public static string? Interpreter => _interpreter.Value;

    internal static string? Missing => Interpreter is null ? "needs python3 with torch (Debian: apt-get install python3-torch)" : null;

    static string? Find()
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var (code, _, _) = Run(candidate, "import torch", [], TimeSpan.FromMinutes(3));
                if (code == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }

    /// <summary>Runs an inline script with arguments; returns exit code, stdout, stderr.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string script, params string[] args) =>
        Run(Interpreter ?? throw new InvalidOperationException("no python3 with torch"), script, args, TimeSpan.FromMinutes(3));

    static (int, string, string) Run(string python, string script, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // Scripts run as `-c` text, so their shared modules (tests/python/dcp_stand_ins.py) come through the path.
        psi.Environment["PYTHONPATH"] = Path.Combine(TestPaths.RepoRoot, "tests", "python");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException("python did not finish"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact that needs python3 with torch; skipped with that reason where there is none, failed under CI.</summary>
public sealed class PythonTorchFactAttribute() : RequiredFactAttribute(PythonTorch.Missing);

/// <summary>A theory that needs python3 with torch; skipped with that reason where there is none, failed under CI.</summary>
public sealed class PythonTorchTheoryAttribute() : RequiredTheoryAttribute(PythonTorch.Missing);

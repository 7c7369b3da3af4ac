using System.Diagnostics;

namespace Ckpt.Extension.Tests;

/// <summary>
/// The package feed the notebooks load the extension from (`artifacts/feed`, a source in their NuGet.config),
/// packed from the very build under test; the global package cache's copies of the same fixed version are evicted
/// so that .NET Interactive restores these and not a stale extract.
/// </summary>
static class LocalFeed
{
    const string Configuration =
#if DEBUG
        "Debug";
#else
        "Release";
#endif

    static readonly string[] Packages = ["Ckpt.Kernel", "Ckpt.Extension"];

    // Several notebook fixtures run in parallel test collections: pack and evict once per test run.
    static readonly Lazy<bool> Once = new(() => { PrepareNow(); return true; });

    public static void Prepare() => _ = Once.Value;

    static void PrepareNow()
    {
        var repo = TestPaths.RepoRoot;
        var feed = Path.Combine(repo, "artifacts", "feed");
        foreach (var project in new[] { "src/Kernel", "src/Extension" })
            Run("dotnet", repo, "pack", project, "--no-build", "-c", Configuration, "-o", feed, "--nologo", "-v", "quiet");
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Packages)
        {
            var extracted = Path.Combine(cache, package.ToLowerInvariant());
            if (Directory.Exists(extracted)) Directory.Delete(extracted, recursive: true);
        }
    }

    static void Run(string file, string directory, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}):\n{output}{err.Result}");
    }
}

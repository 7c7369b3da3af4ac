namespace Ckpt.Tests;

/// <summary>Locates the repository and its bundled fixtures from the test's working directory.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Fixture(params string[] parts) => Path.Combine([RepoRoot, "tests", "fixtures", .. parts]);

    public static string TempDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ckpt-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Extension.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Extension.sln not found above the test binaries");
    }
}

namespace Ckpt.Tests;

/// <summary>Finds the repository root (the folder holding Extension.sln) and the fixtures under it.</summary>
static class TestPaths
{
    static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Extension.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Extension.sln not found above the test binaries");
    });

    public static string RepoRoot => Root.Value;

    public static string Fixture(params string[] parts) => Path.Combine([RepoRoot, "tests", "fixtures", .. parts]);
}

namespace Ckpt.Extension.Tests;

/// <summary>Paths of the repository and its fixtures, found by walking up to `Extension.sln`.</summary>
static class TestPaths
{
    static readonly Lazy<string> _root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Extension.sln"))) return dir.FullName;
        throw new InvalidOperationException("Extension.sln not found above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => _root.Value;

    public static string Fixture(string relative) => Path.Combine(RepoRoot, "tests", "fixtures", relative);
}

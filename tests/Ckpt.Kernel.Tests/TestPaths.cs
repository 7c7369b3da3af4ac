namespace Ckpt.Tests;

/// <summary>Finds the repository root (the folder holding Extension.sln) and the fixtures under it.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Fixture(params string[] parts) => Path.Combine([RepoRoot, "tests", "fixtures", .. parts]);

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Extension.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no Extension.sln above the test assembly");
    }
}

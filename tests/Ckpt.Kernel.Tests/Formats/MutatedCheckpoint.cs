using Ckpt.Errors;

namespace Ckpt.Tests.Formats;

/// <summary>
/// A writable copy of a fixture folder in a temporary directory, for tests that damage or rewrite a file of it and
/// then open the copy. Reference files (`reference*`) are left out unless asked for.
/// </summary>
sealed class MutatedCheckpoint : IDisposable
{
    public string Path { get; }

    public MutatedCheckpoint(string fixture, bool withReference = false)
    {
        Path = TestPaths.TempDirectory(fixture);
        foreach (var f in Directory.EnumerateFiles(TestPaths.Fixture(fixture)))
        {
            var name = System.IO.Path.GetFileName(f);
            if (!withReference && name.StartsWith("reference", StringComparison.Ordinal)) continue;
            System.IO.File.Copy(f, System.IO.Path.Combine(Path, name));
        }
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Replaces the bytes of <paramref name="file"/> (relative to the copy) with <paramref name="change"/> of them.</summary>
    public void Mutate(string file, Func<byte[], byte[]> change) =>
        System.IO.File.WriteAllBytes(File(file), change(System.IO.File.ReadAllBytes(File(file))));

    public void Delete(string file) => System.IO.File.Delete(File(file));

    /// <summary>The error opening the copy fails with (the test fails if it opens).</summary>
    public CheckpointFormatException Refusal() =>
        Assert.Throws<CheckpointFormatException>(() => { using var _ = Checkpoint.Open(Path); });

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

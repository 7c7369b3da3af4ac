using Ckpt.Outputs;

namespace Ckpt.Tests.Outputs;

/// <summary>
/// Where the file system has no atomic exchange, replacing an output is two renames: the old output is set aside,
/// then the new one moved in. A kill between them leaves no output; the next run must bring the old one back.
/// </summary>
public sealed class InterruptedReplaceTests : IDisposable
{
    readonly string _dir = TestPaths.TempDirectory("interrupted-replace");

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void A_replace_killed_between_its_two_renames_gets_the_old_output_back_on_the_next_run()
    {
        var output = Path.Combine(_dir, "out");
        using (var first = OutputFolder.Begin(output, [], overwrite: false))
        {
            File.WriteAllText(Path.Combine(first.Staging, "model.safetensors"), "old");
            first.Commit();
        }
        var second = OutputFolder.Begin(output, [], overwrite: true);
        File.WriteAllText(Path.Combine(second.Staging, "model.safetensors"), "new, half written");
        Directory.Move(output, second.Staging + "-old"); // the first rename of the fallback; then the process dies

        using (var third = OutputFolder.Begin(output, [], overwrite: true))
        {
            Assert.Equal("old", File.ReadAllText(Path.Combine(output, "model.safetensors")));
            Assert.False(Directory.Exists(second.Staging + "-old"));
            Assert.False(Directory.Exists(second.Staging));
        }
        Assert.Equal(["out"], Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName));
    }
}

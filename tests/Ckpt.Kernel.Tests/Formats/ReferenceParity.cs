namespace Ckpt.Tests.Formats;

/// <summary>
/// The facts every reader test asserts of a checkpoint built next to a reference (`reference.pt`, a reference
/// safetensors): the format and layout the reader reports, then the same tensor names, and for each tensor the
/// reference's shape (in the manifest and as read), dtype and bytes.
/// </summary>
static class ReferenceParity
{
    public static void AssertDescribed(Checkpoint ckpt, string format, int? worldSize = null, string? framework = null)
    {
        Assert.Equal(format, ckpt.Manifest.Format);
        if (framework is not null) Assert.Equal(framework, ckpt.Manifest.Framework);
        if (worldSize is not null) Assert.Equal(worldSize, ckpt.Manifest.Layout.WorldSize);
    }

    /// <param name="when">Ends the failure sentence `{tensor} differs {when}`.</param>
    public static void AssertSameTensors(Checkpoint reference, Checkpoint actual, string when)
    {
        Assert.Equal(reference.Manifest.Tensors.Select(t => t.Name).Order(), actual.Manifest.Tensors.Select(t => t.Name).Order());
        foreach (var t in reference.Manifest.Tensors)
        {
            var entry = actual.GetEntry(t.Name);
            Assert.Equal(t.Shape, entry.Shape);
            Assert.Equal(t.DType, entry.DType);
            using var want = reference.Read(t.Name);
            using var got = actual.Read(t.Name);
            Assert.Equal(t.Shape, got.Shape);
            Assert.True(want.Bytes.SequenceEqual(got.Bytes), $"{t.Name} differs {when}");
        }
    }

    public static void AssertSameTensors(string referencePath, string actualPath, string when)
    {
        using var reference = Checkpoint.Open(referencePath);
        using var actual = Checkpoint.Open(actualPath);
        AssertSameTensors(reference, actual, when);
    }

    /// <summary>
    /// Reads <paramref name="tensors"/> whole and asserts the tensor bytes read from storage are at least what they hold
    /// and at most <paramref name="maxRatio"/> times that (the read planner's budget for one layer of a sharded format).
    /// </summary>
    public static void AssertReadsAtMost(Checkpoint ckpt, IReadOnlyCollection<Manifest.TensorEntry> tensors, double maxRatio)
    {
        ckpt.Storage.Statistics.Reset();
        long needed = 0;
        foreach (var t in tensors)
        {
            using var data = ckpt.Read(t.Name);
            needed += data.Bytes.Length;
        }
        long read = ckpt.Storage.Statistics.TensorBytesRead;
        Assert.True(read >= needed && read <= needed * maxRatio, $"read {read} bytes for {needed} needed ({(double)read / needed:0.000}×)");
    }
}

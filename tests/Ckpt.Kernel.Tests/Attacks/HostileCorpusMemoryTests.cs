using Ckpt.Errors;
using Ckpt.Tensors;
using Xunit.Abstractions;

namespace Ckpt.Tests.Attacks;

/// <summary>Runs with no other test in the process, so process-wide allocation counters measure only this one.</summary>
[CollectionDefinition(nameof(MeasuredAlone), DisableParallelization = true)]
public sealed class MeasuredAlone;

/// <summary>
/// Opening and reading a hostile file must cost no more memory than a small multiple of its bytes: a lying
/// header (a 2^63-byte header, a shape of 2^80 elements, a 512 MiB zstd stream in 16 KiB, a million MEMOIZEs)
/// is refused from its claim, before a buffer is sized from it. Counted: every managed byte allocated on any
/// thread (GC.GetTotalAllocatedBytes) plus every native tensor buffer rented, across open and read of every tensor.
/// </summary>
[Collection(nameof(MeasuredAlone))]
public class HostileCorpusMemoryTests(ITestOutputHelper output)
{
    /// <summary>
    /// Allowed bytes per input byte, plus a fixed allowance for what any open costs (format probe, exception,
    /// small buffers: 20-100 KB measured). A pickle makes an object per opcode byte or two, so its cost per
    /// input byte is an object's size (deep_lists: 12x); the memo is 8 bytes an entry.
    /// </summary>
    const long PerInputByte = 16;
    const long Fixed = 1L << 20;

    static long CheckpointBytes(string target) => File.Exists(target)
        ? new FileInfo(target).Length
        : Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    static long Measure(string target)
    {
        long managed = GC.GetTotalAllocatedBytes(precise: true), native = NativeBufferPool.RentedBytes;
        try
        {
            using var ckpt = Checkpoint.Open(target);
            foreach (var t in ckpt.Manifest.Tensors) using (ckpt.Read(t.Name)) { }
        }
        catch (CheckpointFormatException) { }
        return GC.GetTotalAllocatedBytes(precise: true) - managed + NativeBufferPool.RentedBytes - native;
    }

    [Fact]
    public void No_hostile_file_costs_more_memory_than_a_small_multiple_of_its_bytes()
    {
        var keys = HostileCorpusTests.Expected().Keys.ToArray();
        foreach (var key in keys) Measure(HostileCorpusTests.Target(key)); // JIT and one-time static state, not the file's cost
        var over = new List<string>();
        foreach (var key in keys)
        {
            var target = HostileCorpusTests.Target(key);
            long input = CheckpointBytes(target), allocated = Measure(target), budget = PerInputByte * input + Fixed;
            output.WriteLine($"{key}: {allocated:N0} bytes allocated for {input:N0} input bytes ({(double)allocated / input:F2}x)");
            if (allocated > budget) over.Add($"{key}: {allocated:N0} bytes for {input:N0} (budget {budget:N0})");
        }
        Assert.True(over.Count == 0, string.Join("\n", over));
    }
}

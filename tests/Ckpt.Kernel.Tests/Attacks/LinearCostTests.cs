using System.Buffers.Binary;
using Ckpt.Errors;
using Ckpt.Formats.Dcp;
using Ckpt.Pickle;
using Ckpt.Tensors;

namespace Ckpt.Tests.Attacks;

/// <summary>
/// The hostile inputs of issue 13 that are too large to keep in tests/attacks (over 200 KB), built here: each
/// costs CPU time linear in its size. Bounds are CPU time of the test's thread, which a loaded machine keeps.
/// </summary>
public class LinearCostTests
{
    static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(1 << 20)]
    [InlineData(256 << 10)]
    public void A_LONG4_integer_of_hundreds_of_kilobytes_is_refused_before_it_is_converted(int length)
    {
        var pickle = new byte[1 + 4 + length + 1];
        pickle[0] = 0x8b;
        BinaryPrimitives.WriteInt32LittleEndian(pickle.AsSpan(1), length);
        pickle.AsSpan(5, length).Fill(0x5a);
        pickle[^1] = (byte)'.';
        var (cpu, error) = ThreadCpuTime.Of(() => Unpickler.Load(pickle, "long.pkl"));
        var e = Assert.IsType<CheckpointFormatException>(error);
        Assert.Equal(FormatErrorReason.PickleInvalid, e.Reason);
        Assert.Contains($"a LONG4 integer of {length} bytes", e.Message);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Fact]
    public void An_integer_as_long_as_a_checkpoint_allows_still_loads()
    {
        var pickle = new byte[1 + 4 + 4096 + 1];
        pickle[0] = 0x8b;
        BinaryPrimitives.WriteInt32LittleEndian(pickle.AsSpan(1), 4096);
        pickle[5] = 7;
        pickle[^1] = (byte)'.';
        Assert.Equal(7L, Unpickler.Load(pickle));
    }

    [Fact]
    public void A_list_that_holds_itself_loads_and_counts_its_back_reference_once()
    {
        // l = []; l.append(l); l.append(l): a cycle, not an expansion
        byte[] pickle = [(byte)']', (byte)'q', 0, (byte)'h', 0, (byte)'a', (byte)'h', 0, (byte)'a', (byte)'.'];
        var list = Assert.IsType<PyList>(Unpickler.Load(pickle));
        Assert.Same(list, list[0]);
        Assert.Equal(3, PyTreeSize.Of(list));
    }

    [Fact]
    public void A_shared_value_counts_once_per_reference_without_being_walked_again()
    {
        // d = {"k0": x, ..., "k15": x} for a 100-item list x: 1 + 16 * (1 + 101) nodes
        var x = new PyList(Enumerable.Range(0, 100).Select(i => (object?)(long)i));
        var d = new PyDict();
        for (int i = 0; i < 16; i++) d[$"k{i}"] = x;
        Assert.Equal(1 + 16 * (1 + 101), PyTreeSize.Of(d));
    }

    static DcpChunk Chunk(long[] offsets, long[] sizes) => new(offsets, sizes);

    [Fact]
    public void Forty_thousand_one_element_chunks_in_one_row_are_checked_in_linear_time()
    {
        const int n = 40_000;
        var chunks = Enumerable.Range(0, n).Select(i => Chunk([0, i], [1, 1])).ToList();
        var valid = new DcpTensorItem(DType.F32, [1, n], chunks);
        var (cpu, error) = ThreadCpuTime.Of(() => DcpChunkValidation.Check(".metadata", "w", valid));
        Assert.Null(error);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");

        // the same with one chunk written twice, last: the old pairwise sweep met it after n²/2 comparisons
        var twice = new DcpTensorItem(DType.F32, [1, n + 1], [.. chunks, Chunk([0, n - 1], [1, 2])]);
        (cpu, error) = ThreadCpuTime.Of(() => DcpChunkValidation.Check(".metadata", "w", twice));
        var e = Assert.IsType<CheckpointFormatException>(error);
        Assert.Equal(FormatErrorReason.OverlappingData, e.Reason);
        Assert.Contains($"[0:1, {n - 1}:{n}]", e.Message);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Fact]
    public void A_200_by_200_grid_of_chunks_is_checked_and_one_shifted_chunk_is_found()
    {
        const int side = 200;
        var grid = (from r in Enumerable.Range(0, side) from c in Enumerable.Range(0, side) select Chunk([r * 2, c * 3], [2, 3])).ToList();
        var (cpu, error) = ThreadCpuTime.Of(() => DcpChunkValidation.Check(".metadata", "w", new DcpTensorItem(DType.F32, [2 * side, 3 * side], grid)));
        Assert.Null(error);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");

        grid[side * side / 2] = Chunk([grid[side * side / 2].Offsets[0], grid[side * side / 2].Offsets[1] + 1], [2, 3]);
        var e = Assert.Throws<CheckpointFormatException>(() => DcpChunkValidation.Check(".metadata", "w", new DcpTensorItem(DType.F32, [2 * side, 3 * side + 1], grid)));
        Assert.Equal(FormatErrorReason.OverlappingData, e.Reason);
    }

    [Fact]
    public void A_34_cubed_grid_of_chunks_is_checked_without_comparing_chunks_pairwise()
    {
        const int side = 34;
        var grid = (from x in Enumerable.Range(0, side) from y in Enumerable.Range(0, side) from z in Enumerable.Range(0, side)
                    select Chunk([x, y * 2, z * 3], [1, 2, 3])).ToList();
        var (cpu, error) = ThreadCpuTime.Of(() => DcpChunkValidation.Check(".metadata", "w", new DcpTensorItem(DType.F32, [side, 2 * side, 3 * side], grid)));
        Assert.Null(error);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");

        // one chunk moved onto its neighbour and its own place left empty: as many elements, not a tiling. The pair
        // lies at the end of a sweep longer than its comparison budget, so it is refused without being named.
        grid[^1] = grid[^2];
        (cpu, error) = ThreadCpuTime.Of(() => DcpChunkValidation.Check(".metadata", "w", new DcpTensorItem(DType.F32, [side, 2 * side, 3 * side], grid)));
        var e = Assert.IsType<CheckpointFormatException>(error);
        Assert.Equal(FormatErrorReason.ChunksDoNotCoverTensor, e.Reason);
        Assert.Contains("but some twice and others never", e.Message);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");
    }

    [Theory]
    [InlineData(new long[] { 0, 0, 0 }, true)]   // the same block twice
    [InlineData(new long[] { 0, 0, 2 }, false)]  // beside it in the last dimension
    [InlineData(new long[] { 1, 1, 1 }, true)]   // corner inside it
    public void Chunks_sharded_along_three_dimensions_overlap_only_when_every_dimension_does(long[] offsets, bool overlap)
    {
        var chunks = new List<DcpChunk> { Chunk([0, 0, 0], [2, 2, 2]), Chunk(offsets, [2, 2, 2]) };
        var error = ThreadCpuTime.Of(() => DcpChunkValidation.Check(".metadata", "w", new DcpTensorItem(DType.F32, [4, 4, 4], chunks))).Error;
        Assert.Equal(overlap, (error as CheckpointFormatException)?.Reason == FormatErrorReason.OverlappingData);
    }

    [Fact]
    public void Keys_that_collide_under_a_plain_long_hash_build_a_dict_in_linear_time()
    {
        // k·(2^32+1): .NET's long hash XORs the halves, so all of these hash to 0.
        var pickle = new List<byte> { (byte)'}' };
        for (long k = 1; k <= 50_000; k++)
        {
            if (k % 1000 == 1) pickle.Add((byte)'(');
            pickle.AddRange([0x8a, 8]);
            pickle.AddRange(BitConverter.GetBytes(k * ((1L << 32) + 1)));
            pickle.Add((byte)'N');
            if (k % 1000 == 0) pickle.Add((byte)'u');
        }
        pickle.Add((byte)'.');
        object? dict = null;
        var (cpu, error) = ThreadCpuTime.Of(() => dict = Unpickler.Load(pickle.ToArray()));
        Assert.Null(error);
        Assert.Equal(50_000, Assert.IsType<PyDict>(dict).Count);
        Assert.True(cpu < Budget, $"took {cpu.TotalSeconds:F2} s of CPU");
    }
}

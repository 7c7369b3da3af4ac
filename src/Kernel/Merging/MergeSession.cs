using Ckpt.Formats.Safetensors;
using Ckpt.Planning;

namespace Ckpt.Merging;

/// <summary>
/// An opened, validated merge: the inputs are open (headers only) and agree, and <see cref="Tensors"/> describes
/// every output tensor with a loader that merges it on demand. Loading a tensor reads it from every input in row
/// chunks of at most <c>chunkElements</c> elements, combines them and returns the merged tensor; nothing else
/// is held. Methods with statistic passes (SLERP, TIES, an L1 rescale) hold tensors of up to 3 × <c>chunkElements</c> whole,
/// so those are read once; larger ones are re-read once per pass. A writer pulls the tensors one at a time,
/// in whatever order it writes them.
/// </summary>
internal sealed class MergeSession : IDisposable
{
    readonly List<Checkpoint> _opened = [];
    readonly Checkpoint? _base;
    readonly Checkpoint[] _models;
    readonly Checkpoint _reference;
    readonly TensorMerge _merge;
    readonly MergeChunk _chunk;
    readonly float[] _merged;
    readonly long _chunkElements, _residentElements;
    readonly long _readBefore;
    readonly object _gate = new();
    readonly Dictionary<Checkpoint, TensorReadAhead> _ahead = new(ReferenceEqualityComparer.Instance);

    public MergeSpec Spec { get; }
    public IReadOnlyList<TensorSource> Tensors { get; }
    /// <summary>Tensors merged with a lerp because their two sides were near-colinear (SLERP).</summary>
    public List<string> ColinearFallbacks { get; } = [];
    /// <summary>Non-floating tensors (step counters, index buffers) copied unchanged from the reference input.</summary>
    public List<string> Copied { get; } = [];

    /// <summary>Checks the spec, opens every input and checks their manifests agree; reads no tensor bytes.</summary>
    public static MergeSession Open(MergeSpec spec, long chunkElements = MergeExecutor.DefaultChunkElements, string? configSource = null)
    {
        spec.Check(configSource);
        if (chunkElements < 1) throw new ArgumentOutOfRangeException(nameof(chunkElements));
        return new MergeSession(spec, chunkElements);
    }

    MergeSession(MergeSpec spec, long chunkElements)
    {
        Spec = spec;
        _chunkElements = chunkElements;
        _residentElements = 3 * chunkElements;
        try
        {
            _base = spec.BaseModel is not null && spec.Method.NeedsBase ? Open(spec.BaseModel) : null;
            _models = spec.Models.Select(m => Open(m.Path)).ToArray();
            var labelled = new List<(string, CheckpointManifest)>();
            if (_base is not null) labelled.Add((spec.BaseModel!, _base.Manifest));
            for (int i = 0; i < _models.Length; i++) labelled.Add((spec.Models[i].Path, _models[i].Manifest));
            MergeValidation.Check(labelled);
        }
        catch
        {
            Dispose();
            throw;
        }
        _reference = _base ?? _models[0];
        _readBefore = _opened.Sum(c => c.Storage.Statistics.TensorBytesRead);
        _merge = spec.Method.CreateMerge(spec);
        int capacity = (int)Math.Min(int.MaxValue, _reference.Manifest.Tensors
            .Where(t => t.DType.IsFloatingPoint())
            .Select(t => MergeExecutor.Chunks(t.Shape, ChunkElements(t)).Select(c => c.Length).DefaultIfEmpty(0).Max())
            .DefaultIfEmpty(0).Max());
        _chunk = new MergeChunk(_models.Length, _base is not null, capacity);
        _merged = new float[capacity];
        Tensors = _reference.Manifest.Tensors.Select(e =>
            new TensorSource(e.Name, OutputDType(e), e.Shape, () => Load(e))).ToArray();
    }

    long ChunkElements(TensorEntry t) =>
        _merge.UsesStatistics && t.ElementCount <= _residentElements ? Math.Max(t.ElementCount, 1) : _chunkElements;

    Checkpoint Open(string path)
    {
        var c = Checkpoint.Open(path);
        _opened.Add(c);
        return c;
    }

    /// <summary>The opened inputs: the base (if the method uses one), then the models.</summary>
    internal IReadOnlyList<Checkpoint> Inputs => _opened;

    /// <summary>
    /// Reads each input that lives in an object store ahead, in the order this session reads it when a writer pulls
    /// <paramref name="order"/> (tensor at a time): the reference's non-floating tensors whole, and for each floating
    /// tensor every input's chunks, pass by pass (<see cref="ChunkReads"/>). The inputs share the budget of bytes held.
    /// Call once, before the first tensor is loaded; inputs on local disks keep one plain read per chunk.
    /// </summary>
    public void ReadAhead(IEnumerable<TensorSource> order, CancellationToken cancellationToken, ReadAheadMeter? meter = null)
    {
        if (_ahead.Count > 0) throw new InvalidOperationException("a merge session reads ahead once");
        foreach (var c in _opened)
            if (TensorReadAhead.For(c.Storage, null, cancellationToken, 1.0 / _opened.Count, meter) is { } ahead) _ahead[c] = ahead;
        if (_ahead.Count == 0) return;
        foreach (var source in order)
        {
            var entry = _reference.GetEntry(source.Name);
            if (!entry.DType.IsFloatingPoint()) { Expect(_reference, entry.Name, null); continue; }
            foreach (var c in ChunkReads(entry))
            {
                if (_base is not null) Expect(_base, entry.Name, c.Box);
                foreach (var m in _models) Expect(m, entry.Name, c.Box);
            }
        }

        void Expect(Checkpoint input, string name, Box? box)
        {
            if (_ahead.TryGetValue(input, out var ahead)) ahead.Expect(input.GetEntry(name), box);
        }
    }

    /// <summary>
    /// The chunks <see cref="Merge"/> reads of a floating tensor, in its order: every chunk once per statistic pass and
    /// once to combine, except a one-chunk tensor, read once and kept.
    /// </summary>
    IEnumerable<MergeExecutor.Chunk> ChunkReads(TensorEntry entry)
    {
        var chunks = MergeExecutor.Chunks(entry.Shape, ChunkElements(entry)).ToArray();
        return chunks.Length == 1 ? chunks : Enumerable.Repeat(chunks, _merge.StatisticPasses + 1).SelectMany(c => c);
    }

    /// <summary>Read-ahead statistics of one input (null where it does not read ahead).</summary>
    internal TensorReadAhead? ReadAheadOf(Checkpoint input) => _ahead.GetValueOrDefault(input);

    /// <summary>Tensor bytes of all inputs, each counted once.</summary>
    public long InputBytes => _opened.Sum(c => c.Manifest.TensorBytes);
    /// <summary>Tensor bytes read from storage so far (statistic passes over multi-chunk tensors re-read them).</summary>
    public long BytesRead => _opened.Sum(c => c.Storage.Statistics.TensorBytesRead) - _readBefore;

    DType OutputDType(TensorEntry e) =>
        !e.DType.IsFloatingPoint() ? e.DType : Spec.OutputDType ?? (FloatSpans.CanEncode(e.DType) ? e.DType : DType.F32);

    /// <summary>Merges one tensor. Sequential: the chunk buffers are shared by all tensors.</summary>
    public TensorData Load(TensorEntry entry, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!entry.DType.IsFloatingPoint())
            {
                Copied.Add(entry.Name);
                return Read(_reference, entry.Name, null, cancellationToken);
            }
            var output = new TensorData(entry.Name, OutputDType(entry), entry.Shape);
            try
            {
                Merge(entry, output, cancellationToken);
                return output;
            }
            catch
            {
                output.Dispose();
                throw;
            }
        }
    }

    void Merge(TensorEntry entry, TensorData output, CancellationToken ct)
    {
        var chunks = MergeExecutor.Chunks(entry.Shape, ChunkElements(entry)).ToArray();
        _merge.BeginTensor(entry.Name, entry.ElementCount);
        bool resident = false;   // a one-chunk tensor is read once and kept for every pass
        for (int pass = 0; pass < _merge.StatisticPasses; pass++)
        {
            foreach (var c in chunks)
            {
                if (!resident) Load(entry.Name, c, ct);
                resident = chunks.Length == 1;
                _merge.Observe(pass, _chunk);
            }
            _merge.EndPass(pass);
        }
        int size = output.DType.Size();
        foreach (var c in chunks)
        {
            if (!resident) Load(entry.Name, c, ct);
            const int block = 1 << 16;
            Parallel.For(0, (c.Length + block - 1) / block, new ParallelOptions { CancellationToken = ct },
                b => _merge.Combine(_chunk, _merged, b * block, Math.Min(c.Length, (b + 1) * block)));
            FloatSpans.Encode(_merged.AsSpan(0, c.Length), output.DType, output.Slice(c.Offset * size, c.Length * size));
        }
        if (_merge is SlerpMerge { UsedLerp: true }) ColinearFallbacks.Add(entry.Name);
    }

    void Load(string name, MergeExecutor.Chunk c, CancellationToken ct)
    {
        _chunk.Offset = c.Offset;
        _chunk.Length = c.Length;
        if (_base is not null) Decode(_base, name, c, _chunk.Base!, ct);
        for (int i = 0; i < _models.Length; i++) Decode(_models[i], name, c, _chunk.Models[i], ct);
    }

    void Decode(Checkpoint from, string name, MergeExecutor.Chunk c, float[] into, CancellationToken ct)
    {
        using var data = Read(from, name, c.Box, ct);
        FloatSpans.Decode(data.DType, data.Bytes, into.AsSpan(0, c.Length));
    }

    /// <summary>A tensor or box of an input: from its read-ahead where it has one, else a plain read.</summary>
    TensorData Read(Checkpoint from, string name, Box? box, CancellationToken ct) =>
        _ahead.TryGetValue(from, out var ahead) ? ahead.Read(from.GetEntry(name), box, Environment.ProcessorCount * 2) : from.Read(name, box, ct);

    TensorData Load(TensorEntry entry) => Load(entry, CancellationToken.None);

    public void Dispose()
    {
        foreach (var ahead in _ahead.Values) ahead.Dispose();
        _ahead.Clear();
        foreach (var c in _opened) c.Dispose();
        _opened.Clear();
    }
}

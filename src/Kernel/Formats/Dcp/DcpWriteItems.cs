using Ckpt.Planning;

namespace Ckpt.Formats.Dcp;

/// <summary>One saved chunk of a tensor: the rank (file) that writes it, its global box, and its bytes on request.</summary>
public sealed record DcpChunkWrite(int Rank, Box Box, Func<TensorData> Load);

/// <summary>A tensor to write as DCP `TensorStorageMetadata`: global dtype and shape, chunks that tile it.</summary>
public sealed record DcpTensorWrite(string Fqn, DType DType, IReadOnlyList<long> Shape, IReadOnlyList<DcpChunkWrite> Chunks);

/// <summary>A non-tensor item (`BytesStorageMetadata`): the complete torch.save bytes of the object.</summary>
public sealed record DcpBytesWrite(string Fqn, int Rank, byte[] Payload);

/// <summary>What a DCP write produced.</summary>
public sealed record DcpWriteResult(string Directory, IReadOnlyList<string> Files, long BytesWritten, int ChunkCount);

/// <summary>One rank's data file and the items it holds, in file order.</summary>
public sealed record DcpRankFile(int Rank, string File, IReadOnlyList<DcpStoredItem> Items);

namespace Ckpt.Training.Data;

/// <summary>
/// Which examples step s trains on: an endless stream of epochs, each a permutation of the examples (seeded by
/// seed + epoch, so the order is a pure function of the step and a resumed run sees the same batches), cut into
/// consecutive batches that may straddle epochs.
/// </summary>
internal sealed class DataOrder(int count, int batchSize, long seed, bool shuffle)
{
    readonly Dictionary<long, int[]> _epochs = [];

    public int[] Batch(long step)
    {
        var batch = new int[batchSize];
        for (int i = 0; i < batchSize; i++)
        {
            long position = step * batchSize + i;
            batch[i] = Epoch(position / count)[position % count];
        }
        return batch;
    }

    int[] Epoch(long epoch)
    {
        if (_epochs.TryGetValue(epoch, out var order)) return order;
        order = Enumerable.Range(0, count).ToArray();
        if (shuffle) new Random(unchecked((int)(seed * 1_000_003 + epoch))).Shuffle(order);
        if (_epochs.Count > 4) _epochs.Clear();
        return _epochs[epoch] = order;
    }
}

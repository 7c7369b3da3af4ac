using Ckpt.Training.Data;

namespace Ckpt.Tests.Training;

/// <summary>TRL's best-fit-decreasing packer: whole examples, rows of at most max_length tokens, as few rows as BFD gives.</summary>
public sealed class SequencePackingTests
{
    /// <summary>
    /// Best-fit decreasing written the plain way, as a check on the packer's tree: longest first (earlier on ties), into
    /// the row with the least room that still fits (lowest-numbered on ties), else a new row.
    /// </summary>
    static List<List<int>> NaiveBestFitDecreasing(int[] lengths, int maxLength)
    {
        var rows = new List<List<int>>();
        var room = new List<int>();
        foreach (int i in Enumerable.Range(0, lengths.Length).OrderByDescending(i => lengths[i]))
        {
            int best = -1;
            for (int r = 0; r < rows.Count; r++)
                if (room[r] >= lengths[i] && (best < 0 || room[r] < room[best])) best = r;
            if (best < 0)
            {
                best = rows.Count;
                rows.Add([]);
                room.Add(maxLength);
            }
            rows[best].Add(i);
            room[best] -= lengths[i];
        }
        return rows;
    }

    static void AssertEveryExampleOnceWithinMaxLength(int[][] rows, int[] lengths, int maxLength)
    {
        Assert.Equal(Enumerable.Range(0, lengths.Length), rows.SelectMany(r => r).Order());
        Assert.All(rows, r => Assert.InRange(r.Sum(i => lengths[i]), 1, maxLength));
    }

    [Fact]
    public void A_known_list_packs_into_the_rows_best_fit_decreasing_gives()
    {
        // By hand, max 10: 7 opens row 0 (room 3); 5 opens row 1 (room 5); 4 fits row 1 best (room 1); 3 fills row 0;
        // 2 fits nowhere and opens row 2 (room 8); the next 2 goes there (room 6); 1 fits row 1 (room 1) best.
        int[] lengths = [2, 7, 1, 4, 2, 5, 3];
        var rows = SequencePacking.BestFitDecreasing(lengths, 10);
        AssertEveryExampleOnceWithinMaxLength(rows, lengths, 10);
        Assert.Equal(NaiveBestFitDecreasing(lengths, 10), rows.Select(r => r.ToList()));
        Assert.Equal(3, rows.Length); // 24 tokens need at least ⌈24/10⌉ = 3 rows
        Assert.Equal([[7, 3], [5, 4, 1], [2, 2]], rows.Select(r => r.Select(i => lengths[i]).ToArray()));
    }

    [Theory]
    [InlineData(1, 200, 128, 8, 120)]
    [InlineData(2, 1000, 128, 1, 128)]
    [InlineData(3, 500, 4096, 10, 3000)]
    [InlineData(4, 64, 16, 1, 4)]
    public void Random_lengths_pack_once_each_within_max_length_into_the_rows_a_plain_best_fit_decreasing_gives(int seed, int count, int maxLength, int shortest, int longest)
    {
        var rng = new Random(seed);
        var lengths = Enumerable.Range(0, count).Select(_ => rng.Next(shortest, longest + 1)).ToArray();
        var rows = SequencePacking.BestFitDecreasing(lengths, maxLength);
        AssertEveryExampleOnceWithinMaxLength(rows, lengths, maxLength);
        var naive = NaiveBestFitDecreasing(lengths, maxLength);
        Assert.Equal(naive.Count, rows.Length);
        Assert.Equal(naive, rows.Select(r => r.ToList()));
        Assert.InRange(rows.Length, (int)Math.Ceiling(lengths.Sum() / (double)maxLength), count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    public void An_example_longer_than_max_length_or_empty_is_refused_with_its_index(int length)
    {
        var e = Assert.Throws<ArgumentException>(() => SequencePacking.BestFitDecreasing([3, length], 10));
        Assert.Contains("example 1", e.Message);
    }
}

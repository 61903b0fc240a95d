using System;
using System.Buffers.Binary;

namespace FineTuning.Testing.Fuzz;

/// <summary>Mutations of raw bytes: bit flips, truncation, insertions and deletions, length lies.</summary>
public static class ByteMutator
{
    /// <summary>Values a corrupted length or count field typically takes.</summary>
    private static readonly long[] Lies = [0, 1, -1, 255, 65_535, int.MaxValue, int.MaxValue - 1, int.MinValue, 300_000_000, uint.MaxValue, long.MaxValue, 1L << 40];

    /// <summary>One mutation of <paramref name="seed"/>, chosen by <paramref name="random"/>; <paramref name="what"/> says which.</summary>
    /// <param name="seed">The input to mutate (not changed).</param>
    /// <param name="random">The generator; the same seed gives the same mutation.</param>
    /// <param name="what">A short description, for the reproducer.</param>
    /// <param name="focus">When positive, edits fall in the first <paramref name="focus"/> bytes (headers) half of the time.</param>
    /// <returns>The mutated bytes.</returns>
    public static byte[] Mutate(byte[] seed, Random random, out string what, int focus = 0)
    {
        ArgumentNullException.ThrowIfNull(seed);
        ArgumentNullException.ThrowIfNull(random);
        byte[] data = (byte[])seed.Clone();
        int Offset(int slack = 0)
        {
            int limit = Math.Max(1, data.Length - slack);
            if (focus > 0 && random.Next(2) == 0) limit = Math.Min(limit, focus);
            return random.Next(limit);
        }

        if (data.Length == 0)
        {
            what = "random bytes into an empty input";
            return RandomBytes(random, random.Next(1, 16));
        }

        switch (random.Next(7))
        {
            case 0:
            {
                int flips = 1 + random.Next(8);
                for (int i = 0; i < flips; i++)
                {
                    int at = Offset();
                    data[at] ^= (byte)(1 << random.Next(8));
                }

                what = $"{flips} bit flip(s)";
                return data;
            }

            case 1:
            {
                int length = Offset();
                what = $"truncated to {length} of {data.Length} bytes";
                return data[..length];
            }

            case 2:
            {
                int at = Offset(), count = 1 + random.Next(16);
                what = $"{count} random byte(s) inserted at {at}";
                byte[] result = new byte[data.Length + count];
                data.AsSpan(0, at).CopyTo(result);
                RandomBytes(random, count).CopyTo(result.AsSpan(at));
                data.AsSpan(at).CopyTo(result.AsSpan(at + count));
                return result;
            }

            case 3:
            {
                int at = Offset(), count = Math.Min(data.Length - at, 1 + random.Next(32));
                what = $"{count} byte(s) deleted at {at}";
                byte[] result = new byte[data.Length - count];
                data.AsSpan(0, at).CopyTo(result);
                data.AsSpan(at + count).CopyTo(result.AsSpan(at));
                return result;
            }

            case 4 when data.Length >= 8:
            {
                int at = Offset(8);
                long lie = Lies[random.Next(Lies.Length)];
                BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(at, 8), lie);
                what = $"int64 {lie} written at {at}";
                return data;
            }

            case 5 when data.Length >= 4:
            {
                int at = Offset(4);
                int lie = (int)Lies[random.Next(Lies.Length)];
                BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(at, 4), lie);
                what = $"int32 {lie} written at {at}";
                return data;
            }

            default:
            {
                int at = Offset(), count = Math.Min(data.Length - at, 1 + random.Next(8));
                byte value = (byte)random.Next(256);
                data.AsSpan(at, count).Fill(value);
                what = $"{count} byte(s) set to 0x{value:X2} at {at}";
                return data;
            }
        }
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        byte[] bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}

using System;
using System.Collections.Generic;

namespace FineTuning.Models.SafeTensors;

/// <summary>Checks where the tensors of a header lie in the data buffer.</summary>
internal static class SafeTensorsLayout
{
    /// <summary>
    /// As the reference reader does: in offset order the tensors must tile the data buffer exactly, each
    /// starting where the previous ends, from 0 to the end of the file. This rules out overlaps (two names
    /// reading the same bytes), gaps and trailing bytes (room for a second, hidden file format).
    /// </summary>
    internal static void Check(IReadOnlyList<SafeTensorInfo> tensors, long dataLength, string path)
    {
        var byOffset = new List<SafeTensorInfo>(tensors);
        byOffset.Sort((a, b) => a.DataBegin != b.DataBegin ? a.DataBegin.CompareTo(b.DataBegin)
            : a.DataEnd != b.DataEnd ? a.DataEnd.CompareTo(b.DataEnd) : string.CompareOrdinal(a.Name, b.Name));
        long expected = 0;
        SafeTensorInfo? previous = null;
        foreach (SafeTensorInfo current in byOffset)
        {
            if (current.DataBegin < expected)
            {
                throw new SafeTensorsFormatException(path, current.Name,
                    $"data_offsets [{current.DataBegin}, {current.DataEnd}] overlap tensor '{previous!.Name}' at [{previous.DataBegin}, {previous.DataEnd}].");
            }

            if (current.DataBegin > expected)
            {
                throw new SafeTensorsFormatException(path, current.Name,
                    $"data_offsets [{current.DataBegin}, {current.DataEnd}] leave bytes [{expected}, {current.DataBegin}) of the data buffer unused (gap).");
            }

            expected = current.DataEnd;
            if (current.ByteLength > 0) previous = current;
        }

        if (expected != dataLength)
        {
            throw new SafeTensorsFormatException(path, null,
                $"the tensors end at byte {expected} of the data buffer but the file holds {dataLength - expected} more bytes (trailing data).");
        }
    }
}

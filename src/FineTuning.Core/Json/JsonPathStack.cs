using System;
using System.Collections.Generic;
using System.Text;

namespace FineTuning.Json;

/// <summary>The JSON path of the token being read (<c>model.merges[3]</c>) and the keys seen in each open object.</summary>
internal sealed class JsonPathStack
{
    private readonly List<Frame> frames = new();

    /// <summary>Enters an object or array as the value of the current position.</summary>
    internal void Open(bool isArray)
    {
        frames.Add(new Frame(isArray));
    }

    /// <summary>Leaves the innermost object or array; it counts as one value of its parent.</summary>
    internal void Close()
    {
        if (frames.Count > 0) frames.RemoveAt(frames.Count - 1);
        Value();
    }

    /// <summary>Records a key of the innermost object; false when the object already has it.</summary>
    internal bool AddName(string name)
    {
        if (frames.Count == 0) return true;
        Frame frame = frames[^1];
        frame.Name = name;
        frame.Names ??= new HashSet<string>(StringComparer.Ordinal);
        return frame.Names.Add(name);
    }

    /// <summary>A scalar (or a closed container) was read at the current position.</summary>
    internal void Value()
    {
        if (frames.Count > 0 && frames[^1].IsArray) frames[^1].Index++;
    }

    /// <summary>The path of the innermost container's current member (the key last read, or the next array index).</summary>
    internal string? Text() => Build(frames.Count);

    private string? Build(int depth)
    {
        if (depth == 0) return null;
        var text = new StringBuilder();
        for (int i = 0; i < depth; i++)
        {
            Frame f = frames[i];
            if (f.IsArray) text.Append('[').Append(f.Index).Append(']');
            else if (f.Name is not null) text.Append(text.Length == 0 ? "" : ".").Append(f.Name);
        }

        return text.Length == 0 ? null : text.ToString();
    }

    private sealed class Frame(bool isArray)
    {
        internal bool IsArray { get; } = isArray;

        internal int Index { get; set; }

        internal string? Name { get; set; }

        internal HashSet<string>? Names { get; set; }
    }
}

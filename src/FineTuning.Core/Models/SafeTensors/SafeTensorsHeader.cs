using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace FineTuning.Models.SafeTensors;

/// <summary>A validated safetensors header: every entry is well-formed and lies inside the data buffer without overlap.</summary>
internal sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(string filePath, long dataStart, long dataLength, List<SafeTensorInfo> tensorsByName, Dictionary<string, string> metadata)
    {
        FilePath = filePath;
        DataStart = dataStart;
        DataLength = dataLength;
        Tensors = tensorsByName.AsReadOnly();
        Metadata = new ReadOnlyDictionary<string, string>(metadata);
        ByName = new Dictionary<string, SafeTensorInfo>(tensorsByName.Count, System.StringComparer.Ordinal);
        foreach (SafeTensorInfo info in tensorsByName) ByName.Add(info.Name, info);
    }

    internal string FilePath { get; }

    /// <summary>Absolute file offset of the data buffer: 8 + header length.</summary>
    internal long DataStart { get; }

    /// <summary>Bytes from <see cref="DataStart"/> to the end of the file.</summary>
    internal long DataLength { get; }

    /// <summary>The entries in ordinal name order.</summary>
    internal IReadOnlyList<SafeTensorInfo> Tensors { get; }

    internal Dictionary<string, SafeTensorInfo> ByName { get; }

    internal IReadOnlyDictionary<string, string> Metadata { get; }
}

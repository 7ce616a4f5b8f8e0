import UnitModel

// What went wrong with a probe's output, as the normalizer records it: damage (a lost
// connection, sections cut short, a compressed stream that did not decompress, bytes that
// are not UTF-8) and output that holds no section at all.

/// What the stages find wrong: diagnostics for the record, and problems that make the host
/// partial (its status reason).
struct Findings {
  var diagnostics: [Diagnostic] = []
  var problems: [String] = []

  /// An error that leaves the host's data incomplete.
  mutating func problem(_ problem: String, _ diagnostic: Diagnostic) {
    problems.append(problem)
    diagnostics.append(diagnostic)
  }

  /// A connection lost midway, sections cut short, bytes that are not UTF-8.
  mutating func noteDamage(_ output: ProbeOutput, _ sections: ProbeSections) {
    if let lost = output.connectionLost {
      problem(
        "the connection broke before the probe finished (\(lost)); what arrived before is kept",
        Diagnostic(
          .error, code: "probe.connection-lost",
          "the connection broke before the probe's exit status arrived: \(lost)"))
    }
    if let transfer = output.transfer, let damage = transfer.damage {
      problem(
        "the host's \(transfer.encoding.rawValue) output could not be read to its end (\(damage)); "
          + "what decompressed before is kept",
        Diagnostic(.error, code: "probe.transfer-damaged", damage))
    }
    for section in sections.ordered where !section.isComplete {
      problem(
        "section '\(section.name)' was cut short",
        Diagnostic(
          .error, code: "probe.truncated-section", "the section has no end marker: output cut short",
          section: section.name))
    }
    for section in sections.ordered where section.hasInvalidUTF8 {
      diagnostics.append(
        Diagnostic(
          .warning, code: "probe.invalid-utf8", "invalid UTF-8 replaced by U+FFFD", section: section.name))
    }
  }
}

/// Why output without any section marker tells nothing: the output cap, a lost connection,
/// or what the host printed instead.
func unreadableStatus(_ output: ProbeOutput) -> HostStatus {
  // The output cap hit before the first marker: the host is `truncated`, as whenever the
  // cap is hit, with nothing kept to read.
  if output.truncated {
    let cap = output.stdout.count + output.stderr.count
    return HostStatus(
      .truncated,
      reason: "the host sent more than the output cap (\(cap) bytes kept) before the probe's first section "
        + "marker; nothing could be read")
  }
  let preview = String(decoding: output.stdout.prefix(120), as: UTF8.self)
  let errPreview = String(decoding: output.stderr.prefix(200), as: UTF8.self)
  var reason = "the probe's output has none of its section markers"
  if let lost = output.connectionLost {
    reason = "the connection broke before the probe's output began (\(lost))"
  }
  if let status = output.exitStatus { reason += " (exit status \(status))" }
  if let transfer = output.transfer, let damage = transfer.damage {
    reason += "; its \(transfer.encoding.rawValue) stream could not be read to its end: \(damage)"
  }
  if !errPreview.isEmpty {
    reason += "; stderr: \(errPreview.trimmingWhitespace())"
  } else if !preview.isEmpty {
    reason += "; stdout begins: \(preview.trimmingWhitespace())"
  }
  return HostStatus(.probeFailed, reason: sanitizeForReason(reason))
}

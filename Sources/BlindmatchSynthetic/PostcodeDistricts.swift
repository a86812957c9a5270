/// UK postcode districts (outward codes) for synthetic addresses, roughly in falling order of population so that
/// big cities get more people. The inward code is made up: a digit and two of the letters the Royal Mail uses there
/// (`ABDEFGHJLNPQRSTUWXYZ`: never C I K M O V), so the postcode has a valid shape (SPEC §3.5) but may not exist.
enum PostcodeDistricts {
    /// Letters allowed in the inward code.
    static let inwardLetters = Array("ABDEFGHJLNPQRSTUWXYZ")

    static let list = NameList(districts, offset: 40)

    static let districts = [
        // London
        "E1", "E14", "E17", "E6", "E7", "N1", "N7", "N17", "N9", "NW1", "NW10", "NW6", "SE1", "SE15", "SE18", "SE6",
        "SW1A", "SW2", "SW11", "SW19", "SW16", "W1A", "W2", "W12", "W3", "EC1A", "EC2V", "WC1N", "WC2H", "E15", "N15",
        "SE13", "SW9", "W10",
        // Outer London
        "CR0", "CR2", "CR7", "HA1", "HA9", "IG1", "IG11", "RM1", "RM8", "EN1", "EN3", "KT1", "KT6", "TW1", "TW3",
        "BR1", "BR6", "DA1", "UB8", "UB3", "SM1",
        // Birmingham and the West Midlands
        "B1", "B11", "B23", "B33", "B70", "B10", "B44", "WV1", "WV10", "WS1", "DY1", "CV1", "CV6",
        // Manchester and the North West
        "M1", "M8", "M14", "M20", "M40", "M16", "BL1", "OL1", "OL8", "SK1", "WN1", "WA1", "PR1", "BB1", "BB2", "FY1",
        "L1", "L8", "L15", "L17", "L4", "CH41", "CH1", "LA1", "CA1",
        // Yorkshire and the North East
        "LS1", "LS6", "LS8", "LS11", "LS17", "BD1", "BD3", "BD8", "HD1", "WF1", "HX1", "S1", "S10", "S11", "S70",
        "DN1", "HU1", "HU5", "YO1", "YO10", "HG1", "NE1", "NE4", "NE6", "NE15", "SR1", "TS1", "DH1", "DL1",
        // East Midlands and East of England
        "NG1", "NG7", "NG18", "LE1", "LE2", "LE4", "LE5", "DE1", "DE23", "NN1", "NN16", "LN1", "PE1", "CB1", "CB4",
        "NR1", "NR2", "IP1", "CO1", "CM1", "SS1", "LU1", "LU2", "MK9", "MK40", "AL1", "SG1", "WD17",
        // South East and South West
        "RG1", "RG30", "SL1", "OX1", "OX4", "GU1", "RH10", "ME14", "CT1", "TN1", "BN1", "BN2", "BN21", "PO1", "PO4",
        "SO14", "SO17", "BH1", "SP1", "SN1", "BS1", "BS3", "BS7", "BS16", "BA1", "GL1", "EX1", "EX4", "PL1", "PL4",
        "TQ1", "TA1", "TR1", "DT1", "HP1",
        // Wales
        "CF10", "CF14", "CF24", "CF5", "SA1", "NP20", "LL11", "LL30", "LL57", "SY23",
        // Scotland
        "G1", "G2", "G12", "G20", "G42", "EH1", "EH3", "EH6", "EH11", "EH16", "AB10", "AB24", "DD1", "PA1", "ML1",
        "KA1", "KY1", "FK1", "PH1", "IV1", "DG1", "TD1",
        // Northern Ireland
        "BT1", "BT9", "BT12", "BT48", "BT34",
        // Midlands and borders
        "ST1", "ST4", "WR1", "HR1", "SY1", "TF1", "CW1", "SK10", "S40", "S60", "DN15", "DN31", "CV32",
    ]
}
